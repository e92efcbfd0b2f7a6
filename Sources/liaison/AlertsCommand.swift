import ArgumentParser
import Foundation
import LiaisonAPI
import LiaisonClient

/// The risk alerts sent to you.
struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "List the risk alerts the policy's rules raised for you (every alert, for an auditor).",
        discussion: """
            An alert says which rule held (policies/alerts.yaml), for which units, and how many items of which \
            agencies are behind it, never what they say or whom they name. Ask for access to the ones you cannot \
            read with: liaison request --alert ID --reason ... --for 14d. `liaison watch` shows alerts as they come.
            """)
    @Option(help: "How many of the newest alerts to show (1 to 500).") var limit: Int = 100
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let list = try await connection.withConnection { hub -> Components.Schemas.AlertList in
            switch try await hub.api.listAlerts(query: .init(limit: limit)) {
            case .ok(let ok): return try ok.body.json
            case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
            }
        }
        if connection.json { return try Output.json(list) }
        guard !list.alerts.isEmpty else { return print("No risk alerts for you.") }
        Output.table(["ID", "TIME", "RULE", "UNITS", "ITEMS", "AGENCIES", "UNREAD"], list.alerts.map { alert in
            [alert.id, Show.time(alert.time), alert.ruleName.map { "\(alert.rule) (\($0))" } ?? alert.rule, alert.units.joined(separator: ", "),
             String(alert.items), alert.agencies.map { "\($0.agency) \($0.items)" }.joined(separator: ", "), String(alert.unread)]
        })
        if list.alerts.contains(where: { $0.unread > 0 }) {
            print("Ask for the items you cannot read: liaison request --alert ID --reason \"...\" --for 14d")
        }
    }
}
