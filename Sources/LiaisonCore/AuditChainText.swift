/// The trail in the compact form `GET /v1/audit/chain` sends and `liaison audit verify` reads: for each entry, its
/// hash on one line, then exactly the bytes that hash is taken over (`AuditEntry.hashInput`: the previous hash, then
/// the canonical record), which are ten lines because every field in them is escaped. A verifier hashes what it
/// reads and decodes nothing but the sequence number, so a long trail is checked at the speed of hashing.
public enum AuditChainText {
    public static let mediaType = "text/plain"

    /// One entry in the compact form.
    public static func append(_ entry: AuditEntry, to out: inout [UInt8]) {
        out.append(contentsOf: entry.hash.utf8)
        out.append(newline)
        out.append(contentsOf: entry.previousHash.utf8)
        out.append(newline)
        AuditEntry.appendCanonical(seq: entry.seq, record: entry.record, to: &out)
        out.append(newline)
    }

    /// One entry in the compact form straight from the columns a store keeps it in (targets comma-joined, as they
    /// are hashed; detail as a flat JSON object): the bytes `append(_:)` writes for the entry read back, without
    /// building it. A detail that is not such an object is read as none, as the stores read it.
    public static func append(hash: UnsafeBufferPointer<UInt8>, previousHash: UnsafeBufferPointer<UInt8>, seq: Int64, timeMs: Int64,
                              actor: UnsafeBufferPointer<UInt8>, action: UnsafeBufferPointer<UInt8>, targets: UnsafeBufferPointer<UInt8>,
                              unit: UnsafeBufferPointer<UInt8>?, outcome: UnsafeBufferPointer<UInt8>, detail: UnsafeBufferPointer<UInt8>,
                              to out: inout [UInt8]) {
        out.append(contentsOf: hash)
        out.append(newline)
        out.append(contentsOf: previousHash)
        out.append(newline)
        out.append(contentsOf: version)
        out.append(newline)
        out.append(contentsOf: String(seq).utf8)
        out.append(newline)
        out.append(contentsOf: String(timeMs).utf8)
        out.append(newline)
        for field in [actor, action, targets, unit ?? UnsafeBufferPointer(start: nil, count: 0), outcome] {
            AuditEntry.appendEscaped(bytes: field, to: &out)
            out.append(newline)
        }
        var members = JSONText.readMembers(detail) ?? []
        // Written sorted by key (`JSONText.object`); otherwise the last of a repeated key counts, as when read into a dictionary.
        if !zip(members, members.dropFirst()).allSatisfy({ $0.key.lexicographicallyPrecedes($1.key) }) {
            var byKey: [[UInt8]: [UInt8]] = [:]
            for member in members { byKey[member.key] = member.value }
            members = byKey.map { (key: $0.key, value: $0.value) }.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        }
        for (index, member) in members.enumerated() {
            if index > 0 { out.append(UInt8(ascii: "&")) }
            AuditEntry.appendEscaped(bytes: member.key, inDetail: true, to: &out)
            out.append(UInt8(ascii: "="))
            AuditEntry.appendEscaped(bytes: member.value, inDetail: true, to: &out)
        }
        out.append(newline)
    }

    /// One entry as read: slices of the text it came in.
    public struct Entry {
        public let seq: Int64
        public let hash: ArraySlice<UInt8>
        public let previousHash: ArraySlice<UInt8>
        /// The bytes `hash` must be the SHA-256 of.
        public let hashInput: ArraySlice<UInt8>
    }

    /// The text is not the compact form (cut short, or not a trail at all).
    public struct Unreadable: Error, Equatable {
        /// The last entry read whole before the problem.
        public let after: Int64
    }

    /// Calls `body` with each entry of `text`, in order; the text must end with a whole entry.
    public static func forEach(in text: [UInt8], _ body: (Entry) throws -> Void) throws {
        var last: Int64 = 0
        let end = try forEachWhole(in: text) { entry in
            try body(entry)
            last = entry.seq
        }
        guard end == text.endIndex else { throw Unreadable(after: last) }
    }

    /// Calls `body` with each whole entry of `text`, in order, and returns where the first entry that is not whole
    /// yet begins (`text.endIndex` if none): the bytes a stream sends next complete it. Throws only for text that
    /// cannot become the compact form, whatever follows.
    public static func forEachWhole(in text: [UInt8], _ body: (Entry) throws -> Void) throws -> Int {
        var position = text.startIndex
        var last: Int64 = 0
        while position < text.endIndex {
            guard let hashEnd = text[position...].firstIndex(of: newline) else { return position }
            let inputStart = hashEnd + 1
            // Ten lines: the previous hash, the version, the sequence number, ..., the detail. Only the ends of the
            // first three and of the last are kept (no allocation per entry).
            var ends = (previous: 0, version: 0, seq: 0, last: 0)
            var count = 0
            var cursor = inputStart
            while count < 10, cursor < text.endIndex, let end = text[cursor...].firstIndex(of: newline) {
                count += 1
                switch count {
                case 1: ends.previous = end
                case 2: ends.version = end
                case 3: ends.seq = end
                case 10: ends.last = end
                default: break
                }
                cursor = end + 1
            }
            // A version line already read must be the version; anything else waits for more bytes.
            if count >= 2, !text[ends.previous + 1..<ends.version].elementsEqual(version) { throw Unreadable(after: last) }
            guard count == 10 else { return position }
            guard let seq = DecimalText.parse(utf8: text[ends.version + 1..<ends.seq], in: 1...Int64.max) else { throw Unreadable(after: last) }
            try body(Entry(seq: seq, hash: text[position..<hashEnd], previousHash: text[inputStart..<ends.previous], hashInput: text[inputStart..<ends.last]))
            last = seq
            position = ends.last + 1
        }
        return position
    }

    private static let newline = UInt8(ascii: "\n")
    private static let version = Array("liaison-audit-v1".utf8)
}
