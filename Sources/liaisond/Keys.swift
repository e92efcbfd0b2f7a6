import ArgumentParser
import Foundation
import LiaisonCore
import LiaisonCrypto
import LiaisonStore

/// Offline management of the key ring, for an operator on the hub's machine while the hub is stopped.
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the key ring offline: rotate the key-encryption key, show which versions are in use.",
        discussion: """
            The key ring is DATA/keyring.json (mode 0600; format in docs/keys.md). While the hub runs, rotate \
            online instead: `liaison keys rotate` as a commission administrator.
            """,
        subcommands: [Rotate.self, Status.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a key-ring version and make it current (the hub must be stopped).",
            discussion: """
                New items are wrapped under the new version. When the hub next starts it rewraps every existing \
                data key under it in the background, while serving, and then retires the old versions.
                """)

        @Option(help: "The hub's data folder (env LIAISON_DATA).")
        var data: String = ProcessInfo.processInfo.environment["LIAISON_DATA"] ?? "data"

        func run() async throws {
            let path = data + "/keyring.json"
            guard FileManager.default.fileExists(atPath: path) else {
                throw ValidationError("\(path) does not exist; start the hub once with --data \(data) to create the key ring")
            }
            let lock: DataDirectoryLock
            do {
                lock = try DataDirectoryLock(directory: data)
            } catch {
                throw ValidationError("liaisond is running on \(data); rotate online with `liaison keys rotate` (a commission administrator), or stop it first")
            }
            defer { lock.release() }
            let rotated: KeyRing
            do {
                rotated = try KeyRing.load(at: path).rotated()
                try rotated.write(to: path)
            } catch {
                throw ValidationError("\(error)")
            }
            let store = try SQLiteStore(path: data + "/liaison.sqlite", legacySeal: { rotated.itemSeal($0.sealInput()) })
            try await store.record(AuditRecord(time: Date(), actor: "operator", action: "rotateKeys", targets: [], unit: nil, outcome: "ok",
                                               detail: ["version": String(rotated.current), "mode": "offline"]))
            let stale = try await store.dataKeyCounts().filter { $0.key != rotated.current }.values.reduce(0, +)
            print("Key ring version \(rotated.current) is current. When the hub starts it rewraps \(stale) data key(s) under it in the background, then retires the older versions.")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the key ring's versions and how many data keys each wraps.")

        @Option(help: "The hub's data folder (env LIAISON_DATA).")
        var data: String = ProcessInfo.processInfo.environment["LIAISON_DATA"] ?? "data"

        func run() async throws {
            let ring: KeyRing
            do { ring = try KeyRing.load(at: data + "/keyring.json") } catch { throw ValidationError("\(error)") }
            let counts = try await SQLiteStore(path: data + "/liaison.sqlite", legacySeal: { ring.itemSeal($0.sealInput()) }).dataKeyCounts()
            print("VERSION  CREATED                 DATA KEYS")
            for version in ring.versionList {
                let marker = version.version == ring.current ? "  (current)" : ""
                print("\(String(version.version).padding(toLength: 9, withPad: " ", startingAt: 0))\(version.createdAt.padding(toLength: 24, withPad: " ", startingAt: 0))\(counts[version.version] ?? 0)\(marker)")
            }
        }
    }
}
