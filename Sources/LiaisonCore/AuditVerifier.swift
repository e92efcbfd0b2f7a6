import Foundation

/// Checks an audit trail on the client side: every entry's hash, every link to the one before,
/// and that the chain ends at the head the hub published. Hashing is passed in (LiaisonCore has no crypto).
public struct AuditVerifier {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// The entry's stored hash is not the hash of its content: it was edited.
        case alteredEntry(seq: Int64)
        /// The entry does not point at the hash of the entry before it: something was inserted, deleted or reordered.
        case brokenLink(seq: Int64)
        /// Sequence numbers skip or repeat before this entry.
        case gap(expected: Int64, found: Int64)
        /// The trail ends before the head the hub published: entries were cut from the end.
        case truncated(headSeq: Int64, lastSeq: Int64)
        /// The entry at a published, signed or remembered head's position is not that head, though every hash and
        /// link checks: the chain was recomputed after an edit somewhere after `intactThrough` (the last head it
        /// still passes through, 0 if none) and up to `seq`. Which entry was edited cannot be known from the trail.
        case rewritten(seq: Int64, intactThrough: Int64)
        /// The hub's answer after this entry is not the trail's compact form.
        case unreadable(after: Int64)

        public var description: String {
            switch self {
            case .alteredEntry(let seq): return "entry \(seq) was altered: its hash does not match its content"
            case .brokenLink(let seq): return "entry \(seq) does not follow the entry before it (an entry was inserted, deleted or reordered)"
            case .gap(let expected, let found): return "entry \(expected) is missing (the next entry is \(found))"
            case .truncated(let headSeq, let lastSeq): return "the trail ends at entry \(lastSeq) but reached entry \(headSeq) in a head published, signed or verified before: entries were removed from the end"
            case .unreadable(let seq): return "the hub's answer after entry \(seq) is not the trail's compact form (cut short or garbled)"
            case .rewritten(let seq, let intact):
                let span = intact > 0 ? "between entries \(intact + 1) and \(seq)" : "before entry \(seq)"
                return "the chain was rewritten \(span): entry \(seq) is not the one the hub published, signed or you verified for that position, "
                    + "though every hash and link checks (the edited entry's hash was recomputed, so which entry was edited cannot be told)"
                    + (intact > 0 ? "; entries up to \(intact) still match the head checked there" : "")
            }
        }
    }

    /// Writes the 32-byte SHA-256 of its first argument to its second.
    public typealias SHA256 = (UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer) -> Void
    let sha256: SHA256
    public private(set) var lastSeq: Int64 = 0
    /// The last entry's hash, as hex text: a copy, so that the bytes it came in can be reused.
    private var lastHashUTF8 = Array(AuditEntry.genesisHash.utf8)
    public var lastHash: String { String(decoding: lastHashUTF8, as: UTF8.self) }
    public private(set) var checked = 0
    /// The furthest checkpoint the chain has passed through.
    public private(set) var intactThrough: Int64 = 0

    /// Hashes the chain must have at these positions (the published and the signed heads).
    let checkpoints: [Int64: String]
    /// How far the trail must reach: the furthest head the hub published or signed.
    let mustReach: Int64

    public init(checkpoints: [Int64: String] = [:], sha256: @escaping SHA256) {
        self.checkpoints = checkpoints
        self.mustReach = checkpoints.keys.max() ?? 0
        self.sha256 = sha256
    }

    /// Checks the next entries in order; call once per page.
    public mutating func check(_ entries: [AuditEntry]) throws(Failure) {
        for entry in entries {
            let input = AuditEntry.hashInput(previousHash: entry.previousHash, seq: entry.seq, record: entry.record)
            try next(seq: entry.seq, input: input[...], hash: ArraySlice(entry.hash.utf8), previousHash: ArraySlice(entry.previousHash.utf8))
        }
    }

    /// Checks the next entries of the trail's compact form (`AuditChainText`), in order: one whole answer.
    /// Returns how many it checked.
    public mutating func check(compact text: [UInt8]) throws(Failure) -> Int {
        let before = checked
        try read(compact: text)
        try endOfAnswer()
        return checked - before
    }

    /// Checks the entries of the compact form as its bytes arrive: each entry as soon as it is whole, the bytes of
    /// one not yet whole kept for the next call. Nothing is built per entry but its digest, and the bytes are held
    /// in one buffer that is reused, so a trail of any length is checked in a few hundred kilobytes.
    public mutating func read(compact bytes: some Collection<UInt8>) throws(Failure) {
        pending.append(contentsOf: bytes)
        let whole: Int
        do {
            whole = try AuditChainText.forEachWhole(in: pending) { entry in
                try next(seq: entry.seq, input: entry.hashInput, hash: entry.hash, previousHash: entry.previousHash)
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw .unreadable(after: lastSeq)
        }
        pending.removeSubrange(0..<whole)
        // No entry the hub writes comes near this; a hub sending endless bytes without one is not read on.
        if pending.count > Self.longestEntry { throw .unreadable(after: lastSeq) }
    }

    /// At the end of an answer: it must have ended with a whole entry.
    public mutating func endOfAnswer() throws(Failure) {
        guard pending.isEmpty else { throw .unreadable(after: lastSeq) }
    }

    /// Bytes of the compact form read but not yet a whole entry.
    private var pending: [UInt8] = []
    static let longestEntry = 16 << 20

    private mutating func next(seq: Int64, input: ArraySlice<UInt8>, hash: ArraySlice<UInt8>, previousHash: ArraySlice<UInt8>) throws(Failure) {
        guard seq == lastSeq + 1 else { throw .gap(expected: lastSeq + 1, found: seq) }
        guard hashes(input, to: hash) else { throw .alteredEntry(seq: seq) }
        guard previousHash == lastHashUTF8[...] else { throw .brokenLink(seq: seq) }
        if let expected = checkpoints[seq] {
            guard expected.utf8.elementsEqual(hash) else { throw .rewritten(seq: seq, intactThrough: intactThrough) }
            intactThrough = seq
        }
        lastSeq = seq
        lastHashUTF8.replaceSubrange(lastHashUTF8.indices, with: hash)
        checked += 1
    }

    /// Whether `input`'s SHA-256 is `hash` in lowercase hex; the digest lives on the stack, and nothing is
    /// allocated per entry (a String and two arrays per entry were a third of verifying).
    private func hashes(_ input: ArraySlice<UInt8>, to hash: ArraySlice<UInt8>) -> Bool {
        guard hash.count == 64 else { return false }
        return withUnsafeTemporaryAllocation(byteCount: 32, alignment: 8) { digest in
            input.withUnsafeBytes { sha256($0, digest) }
            return hash.withUnsafeBufferPointer { text in
                for index in 0..<32 {
                    let byte = digest[index]
                    guard text[2 * index] == Self.hexDigits[Int(byte >> 4)], text[2 * index + 1] == Self.hexDigits[Int(byte & 0x0f)] else { return false }
                }
                return true
            }
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// After the last page: the chain must reach the published head.
    public func finish() throws(Failure) {
        if mustReach > lastSeq { throw .truncated(headSeq: mustReach, lastSeq: lastSeq) }
    }
}
