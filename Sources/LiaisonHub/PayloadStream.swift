import LiaisonCore
import LiaisonCrypto
import LiaisonStore

/// A payload delivered piece by piece: each piece is read from the store (and checked, opened or sealed) only when
/// the reader's connection takes it, so a delivery holds a chunk or two whatever the payload's size.
public struct PayloadStream: AsyncSequence, Sendable {
    public typealias Element = [UInt8]
    /// How many bytes it yields in all, when known before it starts (not for an envelope made on the way).
    public let length: Int?
    let source: Source

    /// Where the pieces come from; `pull` gives nil at the end. Read by one delivery, one piece at a time. `hold` is
    /// the answer budget's share the delivery takes, given back when the delivery lets go of it.
    final class Source: @unchecked Sendable {
        let pull: () async throws -> [UInt8]?
        let hold: ByteBudget.Hold?
        init(_ pull: @escaping () async throws -> [UInt8]?, hold: ByteBudget.Hold? = nil) {
            self.pull = pull
            self.hold = hold
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let source: Source
        public mutating func next() async throws -> [UInt8]? { try await source.pull() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(source: source) }

    /// Every piece in one array: for an answer small enough to send whole.
    public func gathered() async throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(length ?? 0)
        for try await piece in self { bytes += piece }
        return bytes
    }
}

/// What a delivery sends: the payload in one piece, or streamed.
public enum DeliveredBody: Sendable {
    case whole([UInt8])
    case streamed(PayloadStream)

    /// The largest answer sent in one piece: the server gathers a streamed one of a known length up to it before the
    /// head leaves (so that a piece that cannot be read is answered as an error), and takes nothing from the answer
    /// budget for it.
    public static let wholeLimit = 1 << 20

    /// What a streamed delivery holds at most: the piece being sent and the next, read meanwhile.
    static let streamWindow = 2 * PayloadChunk.size

    /// This body holding its share of `budget` while it is sent to `principal`: a whole one larger than `wholeLimit`
    /// all of its bytes (and sent in pieces, so that the hub does not copy it whole into the connection's buffer), a
    /// streamed one its window. Refused (503 busy) when the share does not fit, before anything is read or recorded.
    /// `taken`: what the answer already holds, taken at an estimate before it was made, now held at its size instead.
    func held(in budget: ByteBudget, for principal: String, taken: ByteBudget.Hold? = nil) throws -> DeliveredBody {
        switch self {
        case .whole(let bytes) where bytes.count > Self.wholeLimit:
            let holding = Swift.min(bytes.count, budget.largestHold)
            let hold: ByteBudget.Hold
            if let taken {
                try budget.resize(taken, to: holding)
                hold = taken
            } else {
                hold = try budget.answerHold(holding, for: principal)
            }
            return .streamed(PayloadStream(pieces: bytes, hold: hold))
        case .streamed(let stream) where (stream.length ?? .max) > Self.wholeLimit:
            let hold = try budget.answerHold(Self.streamWindow, for: principal)
            return .streamed(PayloadStream(length: stream.length, source: PayloadStream.Source(stream.source.pull, hold: hold)))
        case .whole, .streamed:
            return self
        }
    }
}

extension PayloadStream {
    /// `bytes` given a chunk at a time, holding `hold` until the delivery lets go of it.
    init(pieces bytes: [UInt8], hold: ByteBudget.Hold) {
        var start = 0
        self.init(length: bytes.count, source: Source({
            guard start < bytes.count else { return nil }
            defer { start += PayloadChunk.size }
            return Array(bytes[start..<Swift.min(start + PayloadChunk.size, bytes.count)])
        }, hold: hold))
    }
}

extension PayloadStream {
    /// The plaintext of a payload kept in `count` chunks, each checked before it is given: opened under the item's
    /// data key (`opener`), or its tag checked under the ring's integrity key. A chunk missing, altered, moved or out
    /// of order, or a total that is not the item's size, ends the stream with `damaged` (after `report`).
    static func chunks(of item: Item, count: Int, opener: ChunkOpener?, ring: KeyRing, store: any PayloadChunkStore,
                       report: @escaping @Sendable (String) -> Void) -> PayloadStream {
        var index = 0
        var delivered = 0
        return PayloadStream(length: item.size, source: Source {
            guard index < count else { return nil }
            let last = index == count - 1
            guard let chunk = try await store.chunks(of: item.id, from: index, limit: 1).first else {
                report("a chunk of a stored payload is missing")
                throw HubError.damaged(item.id)
            }
            let plain: [UInt8]
            if let opener {
                guard let opened = try? opener.open(chunk.bytes, index: index, last: last) else {
                    report("a stored chunk failed authentication")
                    throw HubError.damaged(item.id)
                }
                plain = opened
            } else {
                guard let tag = chunk.tag, (try? ring.chunkTagMatches(tag, header: PayloadChunk.header(itemID: item.id, index: index, last: last), chunk: chunk.bytes)) == true else {
                    report("a stored chunk does not match its tag")
                    throw HubError.damaged(item.id)
                }
                plain = chunk.bytes
            }
            index += 1
            delivered += plain.count
            guard last ? delivered == item.size : plain.count == PayloadChunk.size else {
                report("a stored payload's chunks do not add up to its size")
                throw HubError.damaged(item.id)
            }
            return plain
        })
    }

    /// This stream sealed on the way as frames (`SealedFrames`), one per piece, each to `certificate`.
    func framed(to certificate: X509Certificate, itemID: String) -> PayloadStream {
        let plain = source
        var index = 0
        var pending: [UInt8]?
        var started = false
        return PayloadStream(length: nil, source: Source {
            // One piece read ahead: a frame says whether it is the last.
            if !started {
                started = true
                pending = try await plain.pull() ?? []
            }
            guard let piece = pending else { return nil }
            pending = try await plain.pull()
            defer { index += 1 }
            return try SealedFrames.frame(piece, itemID: itemID, index: index, last: pending == nil, to: certificate)
        })
    }

    /// This stream sealed on the way into a CMS envelope addressed to `certificate` (`CMSStream`).
    func sealed(to certificate: X509Certificate) throws -> PayloadStream {
        let envelope = try CMSStream(to: certificate)
        let plain = source
        var finished = false
        return PayloadStream(length: nil, source: Source {
            // The envelope may hold back what a piece gave (a cipher block): pull until it writes something.
            while !finished {
                if let piece = try await plain.pull() {
                    let out = try envelope.write(piece)
                    if !out.isEmpty { return out }
                } else {
                    finished = true
                    return try envelope.finish()
                }
            }
            return nil
        })
    }
}

extension DeliveredBody {
    /// The bytes of a payload delivered in one piece; nil for a streamed one.
    public var whole: [UInt8]? {
        guard case .whole(let bytes) = self else { return nil }
        return bytes
    }
}
