import Foundation
import GRDB
import LiaisonCore

/// Every migration of the store, in order, in one migrator (as GRDB's demo `AppDatabase` keeps them): a
/// database is brought to the current schema by running what it has not run yet, by name.
extension SQLiteStore {
    static func migrator(legacySeal: (@Sendable (Item) -> [UInt8])?) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: items, payloads, idempotency keys") { db in
            try db.execute(sql: """
                CREATE TABLE item (
                    id TEXT PRIMARY KEY NOT NULL,
                    kind TEXT NOT NULL,
                    title TEXT NOT NULL,
                    unit TEXT NOT NULL,
                    persons TEXT NOT NULL,
                    tags TEXT NOT NULL,
                    classification TEXT NOT NULL,
                    owner TEXT NOT NULL,
                    pushed_by TEXT NOT NULL,
                    content_type TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    created_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX item_by_unit ON item(unit, id);
                CREATE INDEX item_by_owner ON item(owner, id);
                CREATE TABLE payload (
                    item_id TEXT PRIMARY KEY NOT NULL REFERENCES item(id),
                    bytes BLOB NOT NULL,
                    wrapped_key BLOB,
                    key_version INTEGER
                );
                CREATE TABLE idempotency (
                    principal TEXT NOT NULL,
                    key TEXT NOT NULL,
                    fingerprint TEXT NOT NULL,
                    item_id TEXT NOT NULL REFERENCES item(id),
                    PRIMARY KEY (principal, key)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v2: audit trail") { db in
            try db.execute(sql: """
                CREATE TABLE audit (
                    seq INTEGER PRIMARY KEY NOT NULL,
                    time INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    targets TEXT NOT NULL,
                    unit TEXT,
                    outcome TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    prev_hash TEXT NOT NULL,
                    hash TEXT NOT NULL
                );
                CREATE INDEX audit_by_actor ON audit(actor, seq);
                CREATE INDEX audit_by_unit ON audit(unit, seq);
                """)
        }
        migrator.registerMigration("v3: signed audit heads") { db in
            try db.execute(sql: """
                CREATE TABLE audit_head (
                    seq INTEGER PRIMARY KEY NOT NULL,
                    hash TEXT NOT NULL,
                    time INTEGER NOT NULL,
                    signature BLOB NOT NULL
                )
                """)
        }
        migrator.registerMigration("v4: sealed metadata of confidential items") { db in
            // The wrapped data key is kept beside the sealed metadata (as well as with the payload) so
            // that listings open titles without touching the payload rows; key rotation rewraps both.
            try db.execute(sql: """
                ALTER TABLE item ADD COLUMN sealed_meta BLOB;
                ALTER TABLE item ADD COLUMN meta_key BLOB;
                ALTER TABLE item ADD COLUMN meta_key_version INTEGER;
                """)
        }
        migrator.registerMigration("v5: data keys by key-ring version") { db in
            // Rotation counts and rewraps data keys by version without reading the payload rows.
            try db.execute(sql: "CREATE INDEX payload_by_key_version ON payload(key_version) WHERE key_version IS NOT NULL")
        }

        migrator.registerMigration("v6: access requests, reviews and grants") { db in
            try db.execute(sql: """
                CREATE TABLE access_request (
                    id TEXT PRIMARY KEY,
                    requester TEXT NOT NULL,
                    agency TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    unit TEXT,
                    duration INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    decision TEXT NOT NULL,
                    decided_at INTEGER,
                    grant_id TEXT
                );
                CREATE INDEX access_request_by_agency ON access_request(agency, id);
                CREATE INDEX access_request_by_decision ON access_request(decision, expires_at);
                CREATE TABLE request_item (
                    request_id TEXT NOT NULL REFERENCES access_request(id),
                    item_id TEXT NOT NULL,
                    position INTEGER NOT NULL,
                    PRIMARY KEY (request_id, item_id)
                );
                CREATE TABLE review (
                    request_id TEXT NOT NULL REFERENCES access_request(id),
                    reviewer TEXT NOT NULL,
                    agency TEXT NOT NULL,
                    decision TEXT NOT NULL,
                    comment TEXT NOT NULL,
                    time INTEGER NOT NULL,
                    PRIMARY KEY (request_id, reviewer)
                );
                CREATE TABLE access_grant (
                    id TEXT PRIMARY KEY,
                    request_id TEXT NOT NULL REFERENCES access_request(id),
                    agency TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    revoked_at INTEGER,
                    revoked_by TEXT
                );
                CREATE INDEX access_grant_by_agency ON access_grant(agency, expires_at);
                CREATE TABLE grant_item (
                    grant_id TEXT NOT NULL REFERENCES access_grant(id),
                    item_id TEXT NOT NULL,
                    agency TEXT NOT NULL,
                    PRIMARY KEY (grant_id, item_id)
                );
                CREATE INDEX grant_item_by_reader ON grant_item(agency, item_id);
                """)
        }

        migrator.registerMigration("v7: feeds") { db in
            // AUTOINCREMENT: a cursor is never reused, even after old events are pruned.
            try db.execute(sql: """
                CREATE TABLE feed_event (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    principal TEXT NOT NULL,
                    time INTEGER NOT NULL,
                    type TEXT NOT NULL,
                    item TEXT,
                    request TEXT,
                    grant_id TEXT,
                    detail TEXT NOT NULL
                );
                CREATE INDEX feed_by_principal ON feed_event(principal, seq);
                CREATE TABLE feed_horizon (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
                INSERT INTO feed_horizon (id, seq) VALUES (1, 0);
                ALTER TABLE access_grant ADD COLUMN expiry_notice INTEGER NOT NULL DEFAULT 0;
                """)
        }

        migrator.registerMigration("v8: leads") { db in
            try db.execute(sql: """
                CREATE TABLE lead (
                    item_id TEXT PRIMARY KEY REFERENCES item(id),
                    owner TEXT NOT NULL,
                    holder TEXT NOT NULL,
                    status TEXT NOT NULL,
                    disposition TEXT,
                    updated_at INTEGER NOT NULL,
                    updated_by TEXT
                );
                CREATE INDEX lead_by_holder ON lead(holder);
                CREATE INDEX item_by_kind ON item(kind, owner, id);
                """)
        }

        migrator.registerMigration("v9: dossiers and rectifications") { db in
            try db.execute(sql: """
                ALTER TABLE item ADD COLUMN answers TEXT;
                CREATE INDEX item_by_answers ON item(answers) WHERE answers IS NOT NULL;
                CREATE TABLE dossier (
                    id TEXT PRIMARY KEY,
                    unit TEXT NOT NULL,
                    agency TEXT NOT NULL,
                    requester TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    request_id TEXT,
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE dossier_item (
                    dossier_id TEXT NOT NULL REFERENCES dossier(id),
                    item_id TEXT NOT NULL,
                    position INTEGER NOT NULL,
                    PRIMARY KEY (dossier_id, item_id)
                );
                """)
        }
        migrator.registerMigration("v10: item seals") { db in
            try db.execute(sql: "ALTER TABLE item ADD COLUMN seal BLOB")
            // Items from before seals are sealed as they are now, once; from here on a row without its seal is a damaged row.
            guard let legacySeal else { return }
            for item in try ItemRow.items(db.makeStatement(sql: "SELECT \(ItemRow.columns) FROM item"), arguments: []) {
                try db.execute(sql: "UPDATE item SET seal = ? WHERE id = ?", arguments: [Data(legacySeal(item)), item.id])
            }
        }
        migrator.registerMigration("v11: the certificates that sign audit heads") { db in
            // Several hubs of one database sign heads, each with its own certificate: a head names its signer.
            try db.execute(sql: "ALTER TABLE audit_head ADD COLUMN signer TEXT")
            try db.execute(sql: "CREATE TABLE audit_signer (fingerprint TEXT PRIMARY KEY, certificate TEXT NOT NULL)")
        }
        migrator.registerMigration("v12: the blind index of persons and tags") { db in
            try db.execute(sql: """
                CREATE TABLE item_mark (mark TEXT NOT NULL, item_id TEXT NOT NULL REFERENCES item(id), PRIMARY KEY (mark, item_id)) WITHOUT ROWID;
                CREATE INDEX item_mark_by_item ON item_mark(item_id);
                -- Items stored before the index: the hub marks them at start (the marks need its key ring).
                CREATE TABLE item_unmarked (item_id TEXT PRIMARY KEY REFERENCES item(id)) WITHOUT ROWID;
                INSERT INTO item_unmarked (item_id) SELECT id FROM item WHERE persons != '[]' OR tags != '[]' OR sealed_meta IS NOT NULL;
                """)
        }
        migrator.registerMigration("v13: risk alerts") { db in
            try db.execute(sql: """
                CREATE TABLE risk_alert (id TEXT PRIMARY KEY, rule TEXT NOT NULL, time INTEGER NOT NULL, trigger_item TEXT NOT NULL,
                                         items TEXT NOT NULL, owners TEXT NOT NULL, units TEXT NOT NULL, notified TEXT NOT NULL);
                CREATE TABLE risk_alert_reader (principal TEXT NOT NULL, alert_id TEXT NOT NULL REFERENCES risk_alert(id),
                                                PRIMARY KEY (principal, alert_id)) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v14: payloads streamed in chunks") { db in
            // A streamed payload's chunks are written before its item (they may be gigabytes): `payload.chunks` says how
            // many the item has once it is stored; chunks of a push that never completed are swept later.
            try db.execute(sql: """
                ALTER TABLE payload ADD COLUMN chunks INTEGER;
                -- The blob last: a sweep reads written_at without walking each chunk's overflow pages.
                CREATE TABLE payload_chunk (item_id TEXT NOT NULL, seq INTEGER NOT NULL, written_at INTEGER NOT NULL, tag BLOB, bytes BLOB NOT NULL,
                                            PRIMARY KEY (item_id, seq));
                """)
        }
        migrator.registerMigration("v15: item lists kept on their request or dossier") { db in
            // One JSON list on the owner's row instead of a row per item: a dossier of a 10,000-item unit and its request
            // wrote 14,000 rows, about 40% of the time it took to build.
            for (owner, table, column) in [("access_request", "request_item", "request_id"), ("dossier", "dossier_item", "dossier_id")] {
                try db.execute(sql: "ALTER TABLE \(owner) ADD COLUMN item_ids TEXT NOT NULL DEFAULT '[]'")
                let update = try db.makeStatement(sql: "UPDATE \(owner) SET item_ids = ? WHERE id = ?")
                var (current, ids): (String?, [String]) = (nil, [])
                let flush = {
                    if let current { try update.execute(arguments: [StoredText.encode(list: ids), current]) }
                }
                let rows = try Row.fetchCursor(db, sql: "SELECT \(column), item_id FROM \(table) ORDER BY \(column), position")
                while let row = try rows.next() {
                    let ownerID: String = row[0]
                    if ownerID != current { try flush(); (current, ids) = (ownerID, []) }
                    ids.append(row[1])
                }
                try flush()
                try db.execute(sql: "DROP TABLE \(table)")
            }
        }
        migrator.registerMigration("v16: the subjects of a request's items kept on it") { db in
            // What a listing of requests needs of their items; requests stored before read their items instead.
            try db.execute(sql: "ALTER TABLE access_request ADD COLUMN subjects TEXT NOT NULL DEFAULT '[]'")
        }
        migrator.registerMigration("v17: chunks kept in files beside the database") { db in
            // A chunk whose bytes are in its item's file (`ChunkFiles`) has an empty `bytes` and says where they are.
            try db.execute(sql: "ALTER TABLE payload_chunk ADD COLUMN file_offset INTEGER; ALTER TABLE payload_chunk ADD COLUMN file_length INTEGER")
        }
        return migrator
    }
}
