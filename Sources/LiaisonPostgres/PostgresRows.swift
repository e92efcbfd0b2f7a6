import Foundation
import LiaisonCore
import LiaisonStore
import PostgresNIO

/// Maps PostgreSQL rows to the domain, by column position in the order of the column lists.
enum PostgresRows {
    static let itemColumns = "id, kind, title, unit, persons, tags, classification, owner, pushed_by, content_type, sha256, size, created_at, sealed_meta, meta_key, meta_key_version, answers, seal"
    static let auditColumns = "seq, time, actor, action, targets, unit, outcome, detail, prev_hash, hash"
    static let leadColumns = "item_id, owner, holder, status, disposition, updated_at, updated_by"

    static func item(from row: PostgresRandomAccessRow) throws -> Item {
        let id = try row[0].decode(String.self)
        let levelText = try row[6].decode(String.self)
        guard let level = Classification(rawValue: levelText) else { throw StoreError.corrupt("item \(id) has level \(levelText)") }
        var item = Item(id: id, kind: try row[1].decode(String.self), title: try row[2].decode(String.self), unit: try row[3].decode(String.self),
                        persons: StoredText.list(try row[4].decode(String.self)), tags: StoredText.list(try row[5].decode(String.self)), classification: level,
                        owner: try row[7].decode(String.self), pushedBy: try row[8].decode(String.self), contentType: try row[9].decode(String.self),
                        sha256: try row[10].decode(String.self), size: Int(try row[11].decode(Int64.self)),
                        createdAt: Date(millisecondsSince1970: try row[12].decode(Int64.self)))
        if let sealed = try row[13].decode(Data?.self), let key = try row[14].decode(Data?.self), let version = try row[15].decode(Int64?.self) {
            item.sealedMetadata = SealedMetadata(ciphertext: Array(sealed), wrappedKey: Array(key), keyVersion: try StoredPayload.keyVersion(stored: version))
        }
        item.answers = try row[16].decode(String?.self)
        item.seal = try row[17].decode(Data?.self).map(Array.init)
        return item
    }

    static func entry(from row: PostgresRandomAccessRow) throws -> AuditEntry {
        let targets = try row[4].decode(String.self)
        let record = AuditRecord(time: Date(millisecondsSince1970: try row[1].decode(Int64.self)), actor: try row[2].decode(String.self),
                                 action: try row[3].decode(String.self),
                                 targets: targets.isEmpty ? [] : targets.split(separator: ",", omittingEmptySubsequences: false).map(String.init),
                                 unit: try row[5].decode(String?.self), outcome: try row[6].decode(String.self), detail: StoredText.detail(try row[7].decode(String.self)))
        return AuditEntry(seq: try row[0].decode(Int64.self), record: record, previousHash: try row[8].decode(String.self), hash: try row[9].decode(String.self))
    }

    static func signedHead(from row: PostgresRandomAccessRow) throws -> SignedHead {
        SignedHead(seq: try row[0].decode(Int64.self), hash: try row[1].decode(String.self), timeMs: try row[2].decode(Int64.self),
                   signature: Array(try row[3].decode(Data.self)), signer: try row[4].decode(String?.self))
    }

    static func lead(from row: PostgresRandomAccessRow) throws -> Lead {
        let itemID = try row[0].decode(String.self)
        let text = try row[3].decode(String.self)
        guard let status = Lead.Status(rawValue: text) else { throw StoreError.corrupt("lead \(itemID) has status \(text)") }
        return Lead(itemID: itemID, owner: try row[1].decode(String.self), holder: try row[2].decode(String.self), status: status,
                    disposition: try row[4].decode(String?.self), updatedAt: Date(millisecondsSince1970: try row[5].decode(Int64.self)),
                    updatedBy: try row[6].decode(String?.self))
    }
}
