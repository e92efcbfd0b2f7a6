public import Foundation

/// What happened, before it has a place in the chain.
public struct AuditRecord: Sendable, Equatable {
    public var time: Date
    /// The principal id, or `cn:NAME` for a certificate whose CN is not declared.
    public var actor: String
    /// The API operation attempted (its operationId in openapi.yaml), or `authenticate`.
    public var action: String
    /// Item ids (or request, grant ids) the action was about.
    public var targets: [String]
    public var unit: String?
    /// `ok`, `withheld` (only a stub was shown), `replayed`, `refused` or `failed`.
    public var outcome: String
    /// Further facts (error code, field, level, counts); never payloads, confidential titles or secrets.
    public var detail: [String: String]

    public init(time: Date, actor: String, action: String, targets: [String] = [], unit: String? = nil, outcome: String, detail: [String: String] = [:]) {
        self.time = time
        self.actor = actor
        self.action = action
        self.targets = targets
        self.unit = unit
        self.outcome = outcome
        self.detail = detail
    }
}

/// One link of the audit chain: a record, its sequence number, and the hashes that bind it to the one before.
///
/// The hash is `SHA-256(previous_hash + "\n" + canonical)` in lowercase hex, where `canonical` is
/// `liaison-audit-v1` followed by these fields, each on its own line, in this order: seq (decimal),
/// time (milliseconds since the Unix epoch, decimal), actor, action, targets joined by ",", unit
/// (empty if none), outcome, and detail as `key=value` pairs sorted by key and joined by "&".
/// In every field, "\" is written "\\", a newline "\n", and in detail values "&" and "=" are
/// written "\&" and "\=". The first entry's previous hash is 64 zeros. All text is UTF-8
/// (the store records a NUL as U+FFFD before hashing; see docs/audit.md).
public struct AuditEntry: Sendable, Equatable {
    public let seq: Int64
    public let record: AuditRecord
    public let previousHash: String
    public let hash: String

    public init(seq: Int64, record: AuditRecord, previousHash: String, hash: String) {
        self.seq = seq
        self.record = record
        self.previousHash = previousHash
        self.hash = hash
    }

    public static let genesisHash = String(repeating: "0", count: 64)

    /// The bytes whose SHA-256 is the entry's hash.
    public static func hashInput(previousHash: String, seq: Int64, record: AuditRecord) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(384)
        out.append(contentsOf: previousHash.utf8)
        out.append(newline)
        appendCanonical(seq: seq, record: record, to: &out)
        return out
    }

    /// Built byte by byte: every audited request hashes one entry on the writer's queue, so this stays off Foundation.
    static func appendCanonical(seq: Int64, record: AuditRecord, to out: inout [UInt8]) {
        out.append(contentsOf: "liaison-audit-v1".utf8)
        out.append(newline)
        out.append(contentsOf: String(seq).utf8)
        out.append(newline)
        appendCanonicalFields(of: record, to: &out)
    }

    /// What the canonical form holds after the entry's sequence number: its part that does not depend on the place
    /// the entry takes in the chain. PostgreSQL's `liaison_append_trail` hashes an entry from these bytes once it
    /// has the chain's end under its lock: `previousHash`, a newline, `liaison-audit-v1`, a newline, the sequence
    /// number in decimal, a newline, then these.
    public static func canonicalFields(of record: AuditRecord) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(320)
        appendCanonicalFields(of: record, to: &out)
        return out
    }

    private static func appendCanonicalFields(of record: AuditRecord, to out: inout [UInt8]) {
        out.append(contentsOf: String(record.time.millisecondsSince1970).utf8)
        out.append(newline)
        appendEscaped(record.actor, to: &out)
        out.append(newline)
        appendEscaped(record.action, to: &out)
        out.append(newline)
        for (index, target) in record.targets.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            appendEscaped(target, to: &out)
        }
        out.append(newline)
        appendEscaped(record.unit ?? "", to: &out)
        out.append(newline)
        appendEscaped(record.outcome, to: &out)
        out.append(newline)
        // Keys in code point order (the order of UTF-8 bytes), as any verifier sorts them.
        for (index, pair) in record.detail.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }).enumerated() {
            if index > 0 { out.append(UInt8(ascii: "&")) }
            appendEscaped(pair.key, inDetail: true, to: &out)
            out.append(UInt8(ascii: "="))
            appendEscaped(pair.value, inDetail: true, to: &out)
        }
    }

    private static let newline = UInt8(ascii: "\n")

    /// "\" becomes "\\" and a newline "\n"; in detail, "&" and "=" are escaped with "\" too.
    private static func appendEscaped(_ text: String, inDetail: Bool = false, to out: inout [UInt8]) {
        appendEscaped(bytes: text.utf8, inDetail: inDetail, to: &out)
    }

    static func appendEscaped(bytes: some Sequence<UInt8>, inDetail: Bool = false, to out: inout [UInt8]) {
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"):
                out.append(byte)
                out.append(byte)
            case newline:
                out.append(UInt8(ascii: "\\"))
                out.append(UInt8(ascii: "n"))
            case UInt8(ascii: "&"), UInt8(ascii: "="):
                if inDetail { out.append(UInt8(ascii: "\\")) }
                out.append(byte)
            default:
                out.append(byte)
            }
        }
    }
}
