import ArgumentParser
import LiaisonAPI
import LiaisonClient

/// The hub's key ring, online, for administrators of the commission.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Show or rotate the hub's key-encryption keys (commission administrators).",
        discussion: "Offline, on the hub's machine with the hub stopped: `liaisond keys rotate --data DIR`.",
        subcommands: [Status.self, Rotate.self],
        defaultSubcommand: Status.self)

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the key ring's versions and how many data keys each still wraps.")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let status = try await connection.withConnection { hub -> Components.Schemas.KeyRingStatus in
                switch try await hub.api.getKeyRing() {
                case .ok(let ok): return try ok.body.json
                case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
                }
            }
            if connection.json { return try Output.json(status) }
            KeysCommand.show(status)
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a key-encryption key version and make it current.",
            discussion: "The hub rewraps existing data keys in the background while it serves, then retires the old versions; `liaison keys` shows the progress.")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let status = try await connection.withConnection { hub -> Components.Schemas.KeyRingStatus in
                switch try await hub.api.rotateKeys() {
                case .created(let created): return try created.body.json
                case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
                }
            }
            if connection.json { return try Output.json(status) }
            let stale = status.versions.filter { $0.version != status.current }.map(\.dataKeys).reduce(0, +)
            print("Key version \(status.current) is current; the hub is rewrapping \(stale) data key(s) under it and will then retire the older versions.")
        }
    }

    static func show(_ status: Components.Schemas.KeyRingStatus) {
        Output.table(["VERSION", "CREATED", "DATA KEYS", ""], status.versions.map {
            [String($0.version), $0.createdAt, String($0.dataKeys), $0.version == status.current ? "current" : "rewrapping"]
        })
    }
}
