import ArgumentParser
import LiaisonAPI
import LiaisonClient

/// Asks for access to items the caller sees withheld.
struct RequestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request",
        abstract: "Ask for access to items you see withheld: by id, for a whole unit, or those behind a risk alert.",
        discussion: """
            The grant goes to your agency. The policy caps --for by the highest level asked for \
            (example policy: general 90d, restricted 30d, confidential 14d) and says who approves; \
            `liaison requests --mine` shows where your requests stand. With --alert, the request names \
            the items behind that alert (`liaison alerts`) that you cannot read and an approver could grant.
            """)

    @Option(name: .customLong("items"), parsing: .upToNextOption, help: "Item ids to ask for.") var items: [String] = []
    @Option(help: "Ask for every item of this unit you see withheld.") var unit: String?
    @Option(help: "Ask for the items behind this risk alert sent to you (liaison alerts lists them).", transform: RecordID.validated) var alert: String?
    @Option(help: "Why you need them (required).") var reason: String
    @Option(name: .customLong("for"), help: "How long the grant should last, e.g. 7d or 12h.") var duration: String
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard [!items.isEmpty, unit != nil, alert != nil].filter({ $0 }).count == 1 else {
            throw ValidationError("give one of --items ID..., --unit UNIT or --alert ID")
        }
    }

    func run() async throws {
        let body = Components.Schemas.NewAccessRequest(items: items.isEmpty ? nil : items, unit: unit, alert: alert, reason: reason, duration: duration)
        let request = try await connection.withConnection { hub -> Components.Schemas.AccessRequest in
            switch try await hub.api.createRequest(body: .json(body)) {
            case .created(let created): return try created.body.json
            case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
            }
        }
        if connection.json { return try Output.json(request) }
        let approvers = Set(request.items.flatMap(\.eligibleApprovers)).sorted().joined(separator: ", ")
        print("Requested \(request.items.count) item(s) for \(request.duration) as \(request.id); awaiting approval by \(approvers).")
    }
}
