import ArgumentParser
import Foundation
import LiaisonCore
import LiaisonStore

/// A consistent copy of a hub's database, taken while it runs; the key ring apart.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy a hub's database consistently, while it runs (no stop needed).",
        discussion: """
            The copy (SQLite VACUUM INTO, mode 0600) holds every item, request, grant, feed event and the whole audit \
            trail as of one moment, and the streamed payloads kept in DATA/liaison.sqlite-chunks, all in one file. \
            It never holds the key ring (DATA/keyring.json): without the ring, confidential payloads cannot be opened \
            and no item's seal can be checked, so keep the ring apart, with --keyring-to or by copying it yourself, \
            on media only its custodians hold. Restore with `liaisond restore`.
            """)

    @Option(help: "The hub's data folder (env LIAISON_DATA).")
    var data: String = ProcessInfo.processInfo.environment["LIAISON_DATA"] ?? "data"

    @Option(help: "The backup file to write (must not exist).")
    var to: String

    @Option(help: "Also copy the key ring to this file (mode 0600; must not exist). Keep it apart from the database backup.")
    var keyringTo: String?

    func validate() throws {
        if let keyringTo, URL(fileURLWithPath: keyringTo).standardized == URL(fileURLWithPath: to).standardized {
            throw ValidationError("--keyring-to must be another file than --to: the key ring is never kept with the database")
        }
    }

    func run() async throws {
        let database = data + "/liaison.sqlite"
        guard FileManager.default.fileExists(atPath: database) else {
            throw ValidationError("\(database) does not exist; give the hub's data folder with --data")
        }
        if let keyringTo, FileManager.default.fileExists(atPath: keyringTo) {
            throw ValidationError("\(keyringTo) exists already; give a new file name (a backup never overwrites)")
        }
        let chunks: Int
        do {
            chunks = try SQLiteBackup.copy(from: database, to: to)
        } catch {
            throw ValidationError("cannot back up \(database): \(error)")
        }
        let summary = try SQLiteBackup.summary(of: to)
        let levels = Classification.allCases.map { "\(summary.itemsByLevel[$0] ?? 0) \($0.rawValue)" }.joined(separator: ", ")
        print("Backed up \(database) to \(to):")
        print("  items: \(levels)")
        print("  access requests: \(summary.accessRequests), grants: \(summary.grants)")
        print("  streamed payloads: \(chunks) chunk(s) from \(data)/liaison.sqlite-chunks, put into the same file")
        print("  audit trail: \(summary.auditEntries) entries, head \(summary.auditHeadHash.prefix(16))…, signed through entry \(summary.signedThrough)")
        if let keyringTo {
            try copyPrivately(data + "/keyring.json", to: keyringTo)
            print("Key ring copied to \(keyringTo) (mode 0600). Keep it apart from the database backup.")
        } else {
            print("The key ring is not in this backup. Copy \(data)/keyring.json apart (or pass --keyring-to FILE): without it, confidential payloads cannot be opened.")
        }
    }
}

/// Copies `source` to `destination`, which must not exist, readable and writable by its owner only, a megabyte at a
/// time (a hub's database can be far larger than the memory a restore should take), and flushed to disk.
func copyPrivately(_ source: String, to destination: String) throws {
    guard let input = FileHandle(forReadingAtPath: source) else { throw ValidationError("cannot read \(source)") }
    defer { try? input.close() }
    guard !FileManager.default.fileExists(atPath: destination),
          FileManager.default.createFile(atPath: destination, contents: nil, attributes: [.posixPermissions: 0o600]),
          let output = FileHandle(forWritingAtPath: destination) else {
        throw ValidationError("cannot create \(destination) (it must not exist yet)")
    }
    defer { try? output.close() }
    while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
        try output.write(contentsOf: chunk)
    }
    try output.synchronize()
}
