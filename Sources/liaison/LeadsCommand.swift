import ArgumentParser
import Foundation
import LiaisonAPI
import LiaisonClient

/// The lead hand-over ledger of the caller's agency.
struct LeadsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leads",
        abstract: "Your agency's lead ledger, and moving a lead: hand-over, start, close.",
        discussion: "A lead goes open -> handed-over -> in-progress -> closed; only its owner or its current holder moves it.",
        subcommands: [Ledger.self, HandOver.self, Start.self, Close.self],
        defaultSubcommand: Ledger.self)

    struct Ledger: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Leads your agency owns or holds: status, age, holder.")
        @Flag(help: "Also show closed leads.") var all = false
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let list = try await connection.withConnection { hub -> Components.Schemas.LeadList in
                switch try await hub.api.listLeads() {
                case .ok(let ok): return try ok.body.json
                case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
                }
            }
            if connection.json { return try Output.json(list) }
            let shown = list.leads.filter { all || $0.status != .closed }
            guard !shown.isEmpty else { return print(all ? "Your agency has no leads." : "Your agency has no open leads (--all shows closed ones).") }
            let now = Date()
            Output.table(["ID", "STATUS", "AGE", "OWNER", "HOLDER", "UNIT", "TITLE"], shown.map { lead in
                [lead.item.id, lead.status.rawValue, RequestsCommand.age(since: lead.item.createdAt, now: now), lead.owner, lead.holder, lead.item.unit,
                 RequestsCommand.shorten(lead.item.title ?? "", 40)]
            })
        }
    }

    struct HandOver: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "hand-over", abstract: "Hand a lead over to another agency, which may then read it.")
        @Argument(help: "The lead's item id.", transform: RecordID.validated) var id: String
        @Option(help: "The agency that takes the lead.") var to: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let lead = try await LeadsCommand.move(id, .init(status: .handedOver, holder: to), connection)
            print("Handed lead \(lead.item.id) over to \(lead.holder); it may now read it.")
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "start", abstract: "Mark a lead in progress.")
        @Argument(help: "The lead's item id.", transform: RecordID.validated) var id: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let lead = try await LeadsCommand.move(id, .init(status: .inProgress), connection)
            print("Lead \(lead.item.id) is in progress with \(lead.holder).")
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "close", abstract: "Close a lead with its disposition.")
        @Argument(help: "The lead's item id.", transform: RecordID.validated) var id: String
        @Option(help: "How the lead was disposed of (required).") var disposition: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let lead = try await LeadsCommand.move(id, .init(status: .closed, disposition: disposition), connection)
            print("Closed lead \(lead.item.id): \(lead.disposition ?? "").")
        }
    }

    /// One PATCH; with --json the lead is printed and the sentence is not.
    static func move(_ id: String, _ body: Components.Schemas.LeadMove, _ connection: ConnectionOptions) async throws -> Components.Schemas.LeadEntry {
        let lead = try await connection.withConnection { hub -> Components.Schemas.LeadEntry in
            switch try await hub.api.updateItem(path: .init(id: id), body: .json(body)) {
            case .ok(let ok): return try ok.body.json
            case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
            }
        }
        if connection.json {
            try Output.json(lead)
            throw ExitCode.success
        }
        return lead
    }
}
