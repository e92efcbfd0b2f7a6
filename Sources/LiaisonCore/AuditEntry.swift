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
/// written "\&" and "\=". The first entry's previous hash is 64 zeros. All text is UTF-8.
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

    /// The exact bytes hashed for an entry (see the type's documentation).
    public static func canonical(seq: Int64, record: AuditRecord) -> String {
        func escape(_ text: String, detail: Bool = false) -> String {
            var out = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
            if detail { out = out.replacingOccurrences(of: "&", with: "\\&").replacingOccurrences(of: "=", with: "\\=") }
            return out
        }
        let millis = Int64((record.time.timeIntervalSince1970 * 1000).rounded(.down))
        let detail = record.detail.sorted { $0.key < $1.key }.map { "\(escape($0.key, detail: true))=\(escape($0.value, detail: true))" }.joined(separator: "&")
        return ["liaison-audit-v1", String(seq), String(millis), escape(record.actor), escape(record.action),
                escape(record.targets.joined(separator: ",")), escape(record.unit ?? ""), escape(record.outcome), detail].joined(separator: "\n")
    }

    /// The bytes whose SHA-256 is the entry's hash.
    public static func hashInput(previousHash: String, seq: Int64, record: AuditRecord) -> [UInt8] {
        Array((previousHash + "\n" + canonical(seq: seq, record: record)).utf8)
    }
}
