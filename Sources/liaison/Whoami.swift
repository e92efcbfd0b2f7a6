import ArgumentParser
import LiaisonAPI
import LiaisonClient

struct Whoami: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show who the hub thinks you are: principal, agency and roles.")

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let me = try await connection.withConnection { hub -> Components.Schemas.Whoami in
            switch try await hub.api.whoami() {
            case .ok(let ok): return try ok.body.json
            case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
            }
        }
        if connection.json { return try Output.json(me) }
        let roles = me.roles.isEmpty ? "no roles" : "roles: " + me.roles.joined(separator: ", ")
        print("\(me.principal) (\(me.name)) acts for \(me.agency), a \(me.agencyType); \(roles)")
    }
}
