import ArgumentParser
import Foundation
import LiaisonAPI
import LiaisonClient

struct GrantsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "grants", abstract: "List the grants your agency holds and those you may revoke.")
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let list = try await connection.withConnection { hub -> Components.Schemas.GrantList in
            switch try await hub.api.listGrants() {
            case .ok(let ok): return try ok.body.json
            case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
            }
        }
        if connection.json { return try Output.json(list) }
        guard !list.grants.isEmpty else { return print("No grants held by your agency or revocable by you.") }
        Output.table(["ID", "AGENCY", "ITEMS", "STATUS", "EXPIRES", "REQUEST", "YOU"], list.grants.map { grant in
            [grant.id, grant.agency, String(grant.items.count), grant.status.rawValue, Show.time(grant.expiresAt), grant.requestId,
             [grant.held ? "hold" : nil, grant.revocable ? "may revoke" : nil].compactMap { $0 }.joined(separator: ", ")]
        })
    }
}

struct RevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a grant at once (approvers of its items).",
                                                    discussion: "The next read through the grant is refused.")
    @Argument(help: "The grant id (`liaison grants` lists them).", transform: RecordID.validated) var id: String
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let grant = try await connection.withConnection { hub -> Components.Schemas.Grant in
            switch try await hub.api.revokeGrant(path: .init(id: id)) {
            case .ok(let ok): return try ok.body.json
            case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
            }
        }
        if connection.json { return try Output.json(grant) }
        print("Revoked \(grant.id): \(grant.agency) can no longer read its \(grant.items.count) item(s).")
    }
}
