import Logging
import PostgresNIO

/// The PostgreSQL schema, in numbered steps applied once each. Every step runs in one transaction under an
/// advisory lock named after the schema the tables go in, so that hubs starting at once against one database
/// migrate it exactly once (and hubs of different schemas do not wait for each other).
enum PostgresMigrations {

    static let steps: [(version: Int, name: String, sql: [String])] = [
        (1, "items, payloads, idempotency keys, the audit chain", [
            """
            CREATE TABLE item (
                id TEXT PRIMARY KEY, kind TEXT NOT NULL, title TEXT NOT NULL, unit TEXT NOT NULL, persons TEXT NOT NULL, tags TEXT NOT NULL,
                classification TEXT NOT NULL, owner TEXT NOT NULL, pushed_by TEXT NOT NULL, content_type TEXT NOT NULL, sha256 TEXT NOT NULL,
                size BIGINT NOT NULL, created_at BIGINT NOT NULL, sealed_meta BYTEA, meta_key BYTEA, meta_key_version BIGINT, answers TEXT, seal BYTEA)
            """,
            "CREATE INDEX item_by_unit ON item(unit, id)",
            "CREATE INDEX item_by_owner ON item(owner, id)",
            "CREATE INDEX item_by_kind ON item(kind, owner, id)",
            "CREATE INDEX item_by_answers ON item(answers) WHERE answers IS NOT NULL",
            "CREATE TABLE payload (item_id TEXT PRIMARY KEY REFERENCES item(id), bytes BYTEA NOT NULL, wrapped_key BYTEA, key_version BIGINT)",
            "CREATE INDEX payload_by_key_version ON payload(key_version) WHERE key_version IS NOT NULL",
            "CREATE TABLE idempotency (principal TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, item_id TEXT NOT NULL REFERENCES item(id), PRIMARY KEY (principal, key))",
            """
            CREATE TABLE audit (seq BIGINT PRIMARY KEY, time BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, targets TEXT NOT NULL, unit TEXT,
                                outcome TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)
            """,
            "CREATE INDEX audit_by_actor ON audit(actor, seq)",
            "CREATE INDEX audit_by_unit ON audit(unit, seq)",
            // The chain's end, locked by every transaction that appends to it: the chain is one, whatever the number of hubs.
            "CREATE TABLE audit_tail (id INT PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, hash TEXT NOT NULL)",
            "INSERT INTO audit_tail (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000')",
            "CREATE TABLE audit_head (seq BIGINT PRIMARY KEY, hash TEXT NOT NULL, time BIGINT NOT NULL, signature BYTEA NOT NULL)",
        ]),
        (2, "access requests, reviews, grants", [
            """
            CREATE TABLE access_request (id TEXT PRIMARY KEY, requester TEXT NOT NULL, agency TEXT NOT NULL, reason TEXT NOT NULL, unit TEXT,
                                         duration BIGINT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, decision TEXT NOT NULL,
                                         decided_at BIGINT, grant_id TEXT)
            """,
            "CREATE INDEX access_request_by_agency ON access_request(agency, id)",
            "CREATE INDEX access_request_by_decision ON access_request(decision, expires_at)",
            "CREATE TABLE request_item (request_id TEXT NOT NULL REFERENCES access_request(id), item_id TEXT NOT NULL, position INT NOT NULL, PRIMARY KEY (request_id, item_id))",
            """
            CREATE TABLE review (request_id TEXT NOT NULL REFERENCES access_request(id), reviewer TEXT NOT NULL, agency TEXT NOT NULL, decision TEXT NOT NULL,
                                 comment TEXT NOT NULL, time BIGINT NOT NULL, PRIMARY KEY (request_id, reviewer))
            """,
            """
            CREATE TABLE access_grant (id TEXT PRIMARY KEY, request_id TEXT NOT NULL REFERENCES access_request(id), agency TEXT NOT NULL,
                                       created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, revoked_at BIGINT, revoked_by TEXT,
                                       expiry_notice INT NOT NULL DEFAULT 0)
            """,
            "CREATE INDEX access_grant_by_agency ON access_grant(agency, expires_at)",
            "CREATE TABLE grant_item (grant_id TEXT NOT NULL REFERENCES access_grant(id), item_id TEXT NOT NULL, agency TEXT NOT NULL, PRIMARY KEY (grant_id, item_id))",
            "CREATE INDEX grant_item_by_reader ON grant_item(agency, item_id)",
        ]),
        (3, "feeds, leads, dossiers", [
            """
            CREATE TABLE feed_event (seq BIGINT PRIMARY KEY, principal TEXT NOT NULL, time BIGINT NOT NULL, type TEXT NOT NULL, item TEXT, request TEXT,
                                     grant_id TEXT, detail TEXT NOT NULL)
            """,
            "CREATE INDEX feed_by_principal ON feed_event(principal, seq)",
            // Cursors are handed out under this row's lock, so they grow in commit order: a reader past a cursor misses nothing.
            "CREATE TABLE feed_tail (id INT PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, horizon BIGINT NOT NULL)",
            "INSERT INTO feed_tail (id, seq, horizon) VALUES (1, 0, 0)",
            """
            CREATE TABLE lead (item_id TEXT PRIMARY KEY REFERENCES item(id), owner TEXT NOT NULL, holder TEXT NOT NULL, status TEXT NOT NULL,
                               disposition TEXT, updated_at BIGINT NOT NULL, updated_by TEXT)
            """,
            "CREATE INDEX lead_by_holder ON lead(holder)",
            """
            CREATE TABLE dossier (id TEXT PRIMARY KEY, unit TEXT NOT NULL, agency TEXT NOT NULL, requester TEXT NOT NULL, reason TEXT NOT NULL,
                                  request_id TEXT, created_at BIGINT NOT NULL)
            """,
            "CREATE TABLE dossier_item (dossier_id TEXT NOT NULL REFERENCES dossier(id), item_id TEXT NOT NULL, position INT NOT NULL, PRIMARY KEY (dossier_id, item_id))",
        ]),
        (4, "the shared key ring", [
            // Sealed under the hubs' master key; `versions` in the clear so that writes of data keys are checked against it.
            "CREATE TABLE key_ring (id INT PRIMARY KEY CHECK (id = 1), generation BIGINT NOT NULL, versions BIGINT[] NOT NULL, sealed BYTEA NOT NULL)",
            "CREATE INDEX item_by_meta_key_version ON item(meta_key_version) WHERE meta_key_version IS NOT NULL",
        ]),
        (5, "the certificates that sign audit heads", [
            // Each hub signs heads with its own certificate: a head names its signer.
            "ALTER TABLE audit_head ADD COLUMN signer TEXT",
            "CREATE TABLE audit_signer (fingerprint TEXT PRIMARY KEY, certificate TEXT NOT NULL)",
        ]),
        (6, "the blind index of persons and tags", [
            "CREATE TABLE item_mark (mark TEXT NOT NULL, item_id TEXT NOT NULL REFERENCES item(id), PRIMARY KEY (mark, item_id))",
            "CREATE INDEX item_mark_by_item ON item_mark(item_id)",
            // Items stored before the index: a hub marks them at start (the marks need its key ring).
            "CREATE TABLE item_unmarked (item_id TEXT PRIMARY KEY REFERENCES item(id))",
            "INSERT INTO item_unmarked (item_id) SELECT id FROM item WHERE persons != '[]' OR tags != '[]' OR sealed_meta IS NOT NULL",
        ]),
        (7, "risk alerts", [
            """
            CREATE TABLE risk_alert (id TEXT PRIMARY KEY, rule TEXT NOT NULL, time BIGINT NOT NULL, trigger_item TEXT NOT NULL,
                                     items TEXT NOT NULL, owners TEXT NOT NULL, units TEXT NOT NULL, notified TEXT NOT NULL)
            """,
            "CREATE TABLE risk_alert_reader (principal TEXT NOT NULL, alert_id TEXT NOT NULL REFERENCES risk_alert(id), PRIMARY KEY (principal, alert_id))",
        ]),
        (8, "payloads streamed in chunks", [
            "ALTER TABLE payload ADD COLUMN chunks INT",
            """
            CREATE TABLE payload_chunk (item_id TEXT NOT NULL, seq INT NOT NULL, written_at BIGINT NOT NULL, tag BYTEA, bytes BYTEA NOT NULL,
                                        PRIMARY KEY (item_id, seq))
            """,
        ]),
        (9, "item lists kept on their request or dossier", [
            // One JSON list on the owner's row instead of a row per item (a dossier of a 10,000-item unit and its request
            // wrote 14,000 rows here), in the form `StoredText` writes.
            "ALTER TABLE access_request ADD COLUMN item_ids TEXT NOT NULL DEFAULT '[]'",
            """
            UPDATE access_request SET item_ids = listed.ids
            FROM (SELECT request_id, '[' || string_agg(to_json(item_id)::text, ',' ORDER BY position) || ']' AS ids FROM request_item GROUP BY request_id) AS listed
            WHERE access_request.id = listed.request_id
            """,
            "DROP TABLE request_item",
            "ALTER TABLE dossier ADD COLUMN item_ids TEXT NOT NULL DEFAULT '[]'",
            """
            UPDATE dossier SET item_ids = listed.ids
            FROM (SELECT dossier_id, '[' || string_agg(to_json(item_id)::text, ',' ORDER BY position) || ']' AS ids FROM dossier_item GROUP BY dossier_id) AS listed
            WHERE dossier.id = listed.dossier_id
            """,
            "DROP TABLE dossier_item",
        ]),
        (10, "the subjects of a request's items kept on it", [
            // What a listing of requests needs of their items; requests stored before read their items instead.
            "ALTER TABLE access_request ADD COLUMN subjects TEXT NOT NULL DEFAULT '[]'",
        ]),
        (11, "payloads of up to a page kept in their row", [
            // Past about 2 KB a row's large values are compressed, then moved to the TOAST table in 2 KB pieces, each
            // with an index entry: for a 4 KiB push (sealed, or a scan: neither compresses), 14% of the server's CPU
            // in a batch of pushes. Rows of up to a page now stay whole; larger payloads are toasted as before.
            "ALTER TABLE payload SET (toast_tuple_target = 8160)",
        ]),
        (12, "a batch's rows stored by a function", [
            // A batch's large statements, sent as text, were parsed, analysed and planned anew in every batch: 31% of
            // the server's CPU for a batch of pushes. A PL/pgSQL function's statements are planned once per connection
            // and kept; the hub sends a call of a few bytes. Arrays of equal length, one per column, as
            // `PostgresItemRows` sends them; an empty text or byte string, or -1, is NULL.
            """
            CREATE FUNCTION liaison_store_items(
                p_ids TEXT[], p_kinds TEXT[], p_titles TEXT[], p_units TEXT[], p_persons TEXT[], p_tags TEXT[], p_levels TEXT[], p_owners TEXT[],
                p_pushers TEXT[], p_types TEXT[], p_shas TEXT[], p_sizes BIGINT[], p_created BIGINT[], p_sealed BYTEA[], p_meta_keys BYTEA[],
                p_meta_versions BIGINT[], p_answers TEXT[], p_seals BYTEA[],
                p_bodies BYTEA[], p_wrapped_keys BYTEA[], p_key_versions BIGINT[], p_chunks BIGINT[],
                p_claim_principals TEXT[], p_claim_keys TEXT[], p_claim_prints TEXT[], p_claim_items TEXT[],
                p_marks TEXT[], p_mark_items TEXT[]) RETURNS VOID LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO item (id, kind, title, unit, persons, tags, classification, owner, pushed_by, content_type, sha256, size, created_at,
                                  sealed_meta, meta_key, meta_key_version, answers, seal)
                SELECT id, kind, title, unit, persons, tags, level, owner, pusher, ctype, sha, size, created,
                       NULLIF(sealed, ''::bytea), NULLIF(mkey, ''::bytea), NULLIF(mversion, -1), NULLIF(answers, ''), NULLIF(seal, ''::bytea)
                FROM unnest(p_ids, p_kinds, p_titles, p_units, p_persons, p_tags, p_levels, p_owners, p_pushers, p_types, p_shas, p_sizes, p_created,
                            p_sealed, p_meta_keys, p_meta_versions, p_answers, p_seals)
                     AS r(id, kind, title, unit, persons, tags, level, owner, pusher, ctype, sha, size, created, sealed, mkey, mversion, answers, seal);
                INSERT INTO payload (item_id, bytes, wrapped_key, key_version, chunks)
                SELECT id, body, NULLIF(wkey, ''::bytea), NULLIF(version, -1), NULLIF(chunks, -1)
                FROM unnest(p_ids, p_bodies, p_wrapped_keys, p_key_versions, p_chunks) AS p(id, body, wkey, version, chunks);
                IF cardinality(p_claim_items) > 0 THEN
                    INSERT INTO idempotency (principal, key, fingerprint, item_id)
                    SELECT * FROM unnest(p_claim_principals, p_claim_keys, p_claim_prints, p_claim_items);
                END IF;
                IF cardinality(p_mark_items) > 0 THEN
                    INSERT INTO item_mark (mark, item_id) SELECT * FROM unnest(p_marks, p_mark_items) ON CONFLICT DO NOTHING;
                END IF;
            END $$
            """,
        ]),
        (13, "the trail's entries chained by the server under its lock", [
            // The batch read the chain's end under its lock and waited for it, hashed the entries and sent them: the
            // lock was held across a round trip to the hub and the hub's turn on a busy machine, and every other hub's
            // batch waited that long. Here the function takes the locks, numbers and hashes the entries from the end it
            // finds (`AuditEntry.hashInput`: the previous hash, a newline, `liaison-audit-v1`, a newline, the sequence
            // number, a newline, then `AuditEntry.canonicalFields`, sent as `p_fields`), appends them and the feed's
            // events, and the batch sends it with its rows and its COMMIT at once. Locks in one order: chain, feed.
            """
            CREATE FUNCTION liaison_append_trail(
                p_times BIGINT[], p_actors TEXT[], p_actions TEXT[], p_targets TEXT[], p_units TEXT[], p_has_unit BOOLEAN[], p_outcomes TEXT[],
                p_details TEXT[], p_fields BYTEA[],
                p_principals TEXT[], p_event_times BIGINT[], p_types TEXT[], p_items TEXT[], p_requests TEXT[], p_grants TEXT[],
                p_event_details TEXT[], p_channel TEXT, p_notice TEXT) RETURNS VOID LANGUAGE plpgsql AS $$
            DECLARE
                v_seq BIGINT;
                v_hash TEXT;
                v_cursor BIGINT;
                v_seqs BIGINT[] := '{}';
                v_previous TEXT[] := '{}';
                v_hashes TEXT[] := '{}';
            BEGIN
                IF cardinality(p_times) > 0 THEN
                    SELECT seq, hash INTO v_seq, v_hash FROM audit_tail WHERE id = 1 FOR UPDATE;
                    IF NOT FOUND THEN RAISE EXCEPTION 'audit_tail has no row'; END IF;
                END IF;
                IF cardinality(p_principals) > 0 THEN
                    SELECT seq INTO v_cursor FROM feed_tail WHERE id = 1 FOR UPDATE;
                    IF NOT FOUND THEN RAISE EXCEPTION 'feed_tail has no row'; END IF;
                END IF;
                IF cardinality(p_times) > 0 THEN
                    FOR i IN 1 .. cardinality(p_times) LOOP
                        v_seq := v_seq + 1;
                        v_previous := v_previous || v_hash;
                        v_hash := encode(sha256(convert_to(v_hash || E'\\n' || 'liaison-audit-v1' || E'\\n' || v_seq::text || E'\\n', 'UTF8') || p_fields[i]), 'hex');
                        v_seqs := v_seqs || v_seq;
                        v_hashes := v_hashes || v_hash;
                    END LOOP;
                    INSERT INTO audit (seq, time, actor, action, targets, unit, outcome, detail, prev_hash, hash)
                    SELECT s, t, a, x, g, CASE WHEN h THEN u END, o, d, p, n
                    FROM unnest(v_seqs, p_times, p_actors, p_actions, p_targets, p_units, p_has_unit, p_outcomes, p_details, v_previous, v_hashes)
                         AS r(s, t, a, x, g, u, h, o, d, p, n);
                    UPDATE audit_tail SET seq = v_seq, hash = v_hash WHERE id = 1;
                END IF;
                IF cardinality(p_principals) > 0 THEN
                    INSERT INTO feed_event (seq, principal, time, type, item, request, grant_id, detail)
                    SELECT v_cursor + n, p, t, k, NULLIF(i, ''), NULLIF(r, ''), NULLIF(g, ''), d
                    FROM unnest(p_principals, p_event_times, p_types, p_items, p_requests, p_grants, p_event_details) WITH ORDINALITY
                         AS e(p, t, k, i, r, g, d, n);
                    UPDATE feed_tail SET seq = v_cursor + cardinality(p_principals) WHERE id = 1;
                    PERFORM pg_notify(p_channel, p_notice);
                END IF;
            END $$
            """,
            // The check that a batch's data keys are under versions the kept ring still holds, on the server: the
            // batch's COMMIT goes with its rows, before any answer, so a key under a dropped version must abort the
            // transaction there. The ring's row is held shared to the end, so a retirement waits for the batch.
            """
            CREATE FUNCTION liaison_require_key_versions(p_versions BIGINT[]) RETURNS VOID LANGUAGE plpgsql AS $$
            DECLARE
                v_held BIGINT[];
                v_missing BIGINT;
            BEGIN
                SELECT versions INTO v_held FROM key_ring WHERE id = 1 FOR SHARE;
                IF NOT FOUND THEN RETURN; END IF;
                SELECT v INTO v_missing FROM unnest(p_versions) AS v WHERE NOT (v = ANY (v_held)) ORDER BY v LIMIT 1;
                IF v_missing IS NOT NULL THEN
                    RAISE EXCEPTION 'key version % is no longer kept', v_missing USING ERRCODE = 'LQ001', DETAIL = v_missing::text;
                END IF;
            END $$
            """,
        ]),
        (14, "a batch committed by one call", [
            // PostgresNIO sends a connection's statements one at a time, each after the answer to the one before, so a
            // batch of BEGIN, rows, trail and COMMIT took four round trips, and held the chain's lock across the hub's
            // turn to read the trail's answer and send its COMMIT. A batch whose writes only hand over rows and trail
            // entries (most pushes, every audited read) is one CALL of this procedure instead, sent outside any
            // transaction: it checks the key versions, stores the rows, appends the trail and commits, so the answer
            // comes once the batch is durable, and the chain's lock is held for the server's work alone. The
            // arguments are those of `liaison_require_key_versions`, `liaison_store_items` and `liaison_append_trail`.
            """
            CREATE PROCEDURE liaison_commit_batch(
                p_versions BIGINT[],
                p_ids TEXT[], p_kinds TEXT[], p_titles TEXT[], p_units TEXT[], p_persons TEXT[], p_tags TEXT[], p_levels TEXT[], p_owners TEXT[],
                p_pushers TEXT[], p_types TEXT[], p_shas TEXT[], p_sizes BIGINT[], p_created BIGINT[], p_sealed BYTEA[], p_meta_keys BYTEA[],
                p_meta_versions BIGINT[], p_answers TEXT[], p_seals BYTEA[],
                p_bodies BYTEA[], p_wrapped_keys BYTEA[], p_key_versions BIGINT[], p_chunks BIGINT[],
                p_claim_principals TEXT[], p_claim_keys TEXT[], p_claim_prints TEXT[], p_claim_items TEXT[],
                p_marks TEXT[], p_mark_items TEXT[],
                p_times BIGINT[], p_actors TEXT[], p_actions TEXT[], p_targets TEXT[], p_units_audited TEXT[], p_has_unit BOOLEAN[], p_outcomes TEXT[],
                p_details TEXT[], p_fields BYTEA[],
                p_principals TEXT[], p_event_times BIGINT[], p_types_of_events TEXT[], p_items TEXT[], p_requests TEXT[], p_grants TEXT[],
                p_event_details TEXT[], p_channel TEXT, p_notice TEXT) LANGUAGE plpgsql AS $$
            BEGIN
                IF cardinality(p_versions) > 0 THEN
                    PERFORM liaison_require_key_versions(p_versions);
                END IF;
                IF cardinality(p_ids) > 0 THEN
                    PERFORM liaison_store_items(p_ids, p_kinds, p_titles, p_units, p_persons, p_tags, p_levels, p_owners, p_pushers, p_types, p_shas,
                        p_sizes, p_created, p_sealed, p_meta_keys, p_meta_versions, p_answers, p_seals, p_bodies, p_wrapped_keys, p_key_versions,
                        p_chunks, p_claim_principals, p_claim_keys, p_claim_prints, p_claim_items, p_marks, p_mark_items);
                END IF;
                PERFORM liaison_append_trail(p_times, p_actors, p_actions, p_targets, p_units_audited, p_has_unit, p_outcomes, p_details, p_fields,
                    p_principals, p_event_times, p_types_of_events, p_items, p_requests, p_grants, p_event_details, p_channel, p_notice);
                COMMIT;
            END $$
            """,
        ]),
    ]

    /// Brings the schema up to date; safe when several hubs run it at once.
    static func migrate(_ client: PostgresClient, logger: Logger) async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended('liaison-migration:' || current_schema(), 0))", logger: logger)
            try await connection.query("CREATE TABLE IF NOT EXISTS liaison_migration (version INT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                                       logger: logger)
            var applied: Set<Int> = []
            for try await version in try await connection.query("SELECT version FROM liaison_migration", logger: logger).decode(Int.self) {
                applied.insert(version)
            }
            for step in steps where !applied.contains(step.version) {
                for statement in step.sql { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                try await connection.query("INSERT INTO liaison_migration (version, name) VALUES (\(step.version), \(step.name))", logger: logger)
            }
        }
    }
}
