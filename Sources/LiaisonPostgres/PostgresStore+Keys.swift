import Foundation
public import LiaisonStore
import PostgresNIO

/// The key ring shared by the hubs of this database (`key_ring`, one row, sealed under their master key).
extension PostgresStore: KeyRingStore {
    public func keptKeyRing(after generation: Int64?) async throws -> KeptKeyRing? {
        // Hubs ask every second: unless the ring changed, the answer is no row, not the sealed ring.
        try await rows("SELECT generation, versions, sealed FROM key_ring WHERE id = 1 AND generation > \(generation ?? 0)").first.map { row in
            KeptKeyRing(generation: try row[0].decode(Int64.self), versions: try row[1].decode([Int64].self).map(StoredPayload.keyVersion(stored:)),
                        sealed: Array(try row[2].decode(Data.self)))
        }
    }

    public func keepKeyRing(_ ring: KeptKeyRing, over generation: Int64?) async throws -> Bool {
        let versions = ring.versions.map { Int64($0) }
        return try await transaction(observed: false) { connection in
            guard let generation else {
                let inserted = try await self.rows("""
                    INSERT INTO key_ring (id, generation, versions, sealed) VALUES (1, \(ring.generation), \(versions), \(Data(ring.sealed)))
                    ON CONFLICT (id) DO NOTHING RETURNING 1
                    """, on: connection)
                return !inserted.isEmpty
            }
            // The exclusive lock waits for every write of a data key in flight (each holds the row shared), so the count below is final.
            guard let row = try await self.rows("SELECT generation, versions FROM key_ring WHERE id = 1 FOR UPDATE", on: connection).first,
                  try row[0].decode(Int64.self) == generation else { return false }
            let dropped = Set(try row[1].decode([Int64].self)).subtracting(versions)
            if !dropped.isEmpty {
                let used = try await self.rows("""
                    SELECT 1 FROM payload WHERE key_version = ANY(\(Array(dropped)))
                    UNION ALL SELECT 1 FROM item WHERE meta_key_version = ANY(\(Array(dropped))) LIMIT 1
                    """, on: connection)
                guard used.isEmpty else { return false }
            }
            try await self.execute("UPDATE key_ring SET generation = \(ring.generation), versions = \(versions), sealed = \(Data(ring.sealed)) WHERE id = 1",
                                   on: connection)
            return true
        }
    }

    /// Holds the ring's row shared until the transaction ends and checks that it holds `versions`: a retirement
    /// waits for this write, and a write after it fails here rather than leave a key under a dropped version.
    /// Nothing to check when no ring is kept in the database (a store used without a shared ring).
    func requireKeptVersions(_ versions: [UInt32], on connection: PostgresConnection) async throws {
        try await sendKeptVersionsCheck(versions, on: connection)?.get()
    }

    /// `requireKeptVersions` sent at once, its verdict to come; nil when there are no versions to check. The server
    /// checks (`liaison_require_key_versions`) and fails the statement, so that a batch that sends its COMMIT before
    /// the verdict comes back cannot commit a key under a dropped version: the transaction is aborted, not the hub's
    /// reading of an answer.
    func sendKeptVersionsCheck(_ versions: [UInt32], on connection: PostgresConnection) -> EventLoopFuture<Void>? {
        guard !versions.isEmpty else { return nil }
        return send("SELECT liaison_require_key_versions(\(versions.map { Int64($0) }))", on: connection).map { _ in }.flatMapErrorThrowing { error in
            if let psql = error as? PSQLError, psql.serverInfo?[.sqlState] == Self.retiredKeyVersionState,
               let version = psql.serverInfo?[.detail].flatMap({ UInt32($0) }) {
                throw StoreError.retiredKeyVersion(version)
            }
            throw error
        }
    }

    /// The SQLSTATE `liaison_require_key_versions` raises for a version the kept ring no longer holds (its detail
    /// is the version).
    static let retiredKeyVersionState = "LQ001"
}
