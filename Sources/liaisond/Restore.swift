import ArgumentParser
import Foundation
import LiaisonCore
import LiaisonCrypto
import LiaisonStore

/// A new data folder from a backup and its key ring, checked before the hub is started on it.
struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a new data folder from a backup and its key ring, and check them.",
        discussion: """
            Refuses a data folder that is not empty. After copying (the streamed payloads' chunks, which the backup \
            holds in its rows, go back to files in DATA/liaison.sqlite-chunks, as the hub keeps them), checks the \
            audit trail end to end (every hash links to the one before, through every signed head) and every item's \
            seal under the key ring, then says what the folder holds. Start the hub on it with `liaisond serve --data DIR`.
            """)

    @Option(help: "The backup file (from `liaisond backup`).")
    var from: String

    @Option(help: "The key ring saved with the backup (`liaisond backup --keyring-to`).")
    var keyring: String

    @Option(help: "The new data folder (must be empty or absent).")
    var data: String

    func run() async throws {
        for file in [from, keyring] where !FileManager.default.fileExists(atPath: file) { throw ValidationError("\(file) does not exist") }
        if let contents = try? FileManager.default.contentsOfDirectory(atPath: data), !contents.isEmpty {
            throw ValidationError("\(data) is not empty; restore into a new folder (restore never overwrites a hub's data)")
        }
        let ring: KeyRing
        do { ring = try KeyRing.load(at: keyring) } catch { throw ValidationError("\(keyring) is not a key ring: \(error)") }
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try copyPrivately(from, to: data + "/liaison.sqlite")
        try copyPrivately(keyring, to: data + "/keyring.json")
        // The streamed payloads' chunks, which the backup holds in its rows, go back to files, as the hub keeps them.
        let chunks: Int
        do {
            chunks = try SQLiteBackup.moveChunksToFiles(database: data + "/liaison.sqlite")
        } catch {
            throw ValidationError("cannot put the streamed payloads of \(from) into \(data)/liaison.sqlite-chunks: \(error); "
                                  + "remove \(data), make room (about twice the backup's size) and restore again")
        }
        let store = try SQLiteStore(path: data + "/liaison.sqlite", legacySeal: { ring.itemSeal($0.sealInput()) })
        let checked: Int
        do {
            checked = try await Self.checkTrail(store)
        } catch let failure as AuditVerifier.Failure {
            throw ValidationError("the restored audit trail does not verify: \(failure); this backup was altered or damaged")
        }
        let (items, damaged) = try await Self.checkSeals(store, ring: ring)
        guard damaged.isEmpty else {
            throw ValidationError("\(damaged.count) item(s) do not match their seal under this key ring (first: \(damaged[0])); is it the ring saved with this backup?")
        }
        print("Restored \(from) into \(data): \(items) items, every seal checks; audit trail of \(checked) entries verified end to end.")
        if chunks > 0 { print("Streamed payloads: \(chunks) chunk(s) put back in \(data)/liaison.sqlite-chunks.") }
        print("Start the hub with: liaisond serve --data \(data)")
    }

    /// Every entry in order, through the signed heads as checkpoints; returns how many were checked.
    static func checkTrail(_ store: SQLiteStore) async throws -> Int {
        var checkpoints: [Int64: String] = [:]
        var after: Int64 = 0
        while true {
            let heads = try await store.signedHeads(after: after, limit: 1000)
            for head in heads { checkpoints[head.seq] = head.hash }
            guard heads.count == 1000, let last = heads.last else { break }
            after = last.seq
        }
        var verifier = AuditVerifier(checkpoints: checkpoints, sha256: SHA256Digester().digest)
        after = 0
        while true {
            let entries = try await store.auditEntries(matching: AuditQuery(after: after, limit: 1000))
            try verifier.check(entries)
            guard entries.count == 1000, let last = entries.last else { break }
            after = last.seq
        }
        try verifier.finish()
        return verifier.checked
    }

    /// How many items there are, and the ids of those whose stored row does not match its seal.
    static func checkSeals(_ store: SQLiteStore, ring: KeyRing) async throws -> (Int, [String]) {
        var query = ItemQuery(limit: 1000)
        var count = 0
        var damaged: [String] = []
        while true {
            let batch = try await store.items(matching: query)
            count += batch.count
            for item in batch where !(item.seal.map { HMACSHA256.equal($0, ring.itemSeal(item.sealInput())) } ?? false) { damaged.append(item.id) }
            guard batch.count == query.limit, let last = batch.last else { break }
            query.before = last.id
        }
        return (count, damaged)
    }
}
