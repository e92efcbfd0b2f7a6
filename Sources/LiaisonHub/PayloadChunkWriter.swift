import Foundation
import LiaisonCrypto
import LiaisonStore

/// Cuts a streamed payload into `PayloadChunk.size` chunks and stores them as they fill, a few per transaction,
/// so that the hub holds a few chunks of a push whatever its size. Each chunk is sealed under the item's data key
/// (`sealer`) or, kept in the clear, tagged under the ring's integrity key; the digest of the whole is taken on the way.
///
/// One batch is stored while the next is read: a store's append waits on the disk (a flush of the bytes, a commit of
/// their rows), and the payload's reading, digest and seal went on only once it was done.
struct PayloadChunkWriter {
    let itemID: String
    let sealer: ChunkSealer?
    let ring: KeyRing
    let store: any PayloadChunkStore
    let limit: Int
    let time: Date
    /// Bytes taken so far.
    private(set) var size = 0
    /// Chunks handed to the store so far (stored, or being stored by `storing`).
    private(set) var stored = 0
    /// The append of the last batch, while it runs; it gives back the batch's buffers.
    private var storing: Task<[[UInt8]], any Error>?
    private var current: [UInt8] = []
    private var batch: [StoredChunk] = []
    /// The buffers of chunks already stored, taken again for the next chunks: a fresh 1 MiB buffer is over malloc's
    /// mmap threshold, so each was mapped anew and faulted in page by page as it filled (13% of the hub's CPU in a
    /// large general push, perf).
    private var spare: [[UInt8]] = []
    private let digest = SHA256Stream()
    static let chunksPerWrite = 4

    init(itemID: String, sealer: ChunkSealer?, ring: KeyRing, store: any PayloadChunkStore, limit: Int, time: Date) {
        self.itemID = itemID
        self.sealer = sealer
        self.ring = ring
        self.store = store
        self.limit = limit
        self.time = time
        current.reserveCapacity(PayloadChunk.size)
    }

    mutating func take(_ piece: ArraySlice<UInt8>) async throws {
        guard piece.count <= limit - size else {
            throw HubError(.tooLarge, code: "payload_too_large", message: "the streamed payload is larger than this hub accepts (\(limit) bytes)",
                           hint: "Split the material into several items or ask the operator to raise --max-stream-payload", field: "payload")
        }
        size += piece.count
        digest.update(piece)
        var rest = piece
        while !rest.isEmpty {
            // A full chunk is cut only once more bytes follow it: the last chunk is known to be the last.
            if current.count == PayloadChunk.size { try await cut(last: false) }
            let room = PayloadChunk.size - current.count
            current.append(contentsOf: rest.prefix(room))
            rest = rest.dropFirst(room)
        }
    }

    /// Ends the payload: nil once it is stored in chunks (`stored` of them), or the whole payload, nothing stored,
    /// when it fits in one chunk (kept in one piece then, as a JSON push keeps it).
    mutating func finish() async throws -> [UInt8]? {
        guard stored > 0 || !batch.isEmpty else { return current }
        try await cut(last: true)
        try await settle()
        return nil
    }

    /// For a push that failed: waits for an append still running (whatever its outcome), so that discarding the
    /// chunks comes after the last of them is written. True when any chunk may have been stored.
    mutating func abandon() async -> Bool {
        _ = try? await settle()
        return stored > 0
    }

    /// The digest of the whole payload, in hex; once, after `finish`.
    func sha256() -> String { digest.finishHex() }

    private mutating func cut(last: Bool) async throws {
        let index = stored + batch.count
        let header = PayloadChunk.header(itemID: itemID, index: index, last: last)
        if let sealer {
            var box = spare.popLast() ?? []
            try sealer.seal(current, index: index, last: last, into: &box)
            batch.append(StoredChunk(bytes: box, tag: nil))
        } else {
            batch.append(StoredChunk(bytes: current, tag: try ring.chunkTag(header, current)))
            if let buffer = spare.popLast() { current = buffer }
        }
        current.removeAll(keepingCapacity: true)
        guard batch.count == Self.chunksPerWrite || last else { return }
        // Appends go one after another: each continues the item's chunks where the last ended.
        try await settle()
        let (chunks, store, itemID, first, time) = (batch, store, itemID, stored, time)
        storing = Task {
            try await store.appendChunks(chunks, of: itemID, from: first, at: time)
            return chunks.map(\.bytes)
        }
        stored += batch.count
        batch.removeAll(keepingCapacity: true)
    }

    /// Waits for the running append, if any; its chunks' buffers are this writer's alone again.
    private mutating func settle() async throws {
        guard let running = storing else { return }
        storing = nil
        spare += try await running.value
    }
}
