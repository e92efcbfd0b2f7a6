import ArgumentParser
import Foundation
import LiaisonAPI
import LiaisonClient

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the items you can see, newest first; withheld ones show as stubs you may ask access for.")

    @Option(help: "Only items about this unit.") var unit: String?
    @Option(help: "Only items of this kind.") var kind: String?
    @Option(help: "Only items of this level.") var classification: Components.Schemas.Classification?
    @Option(help: "Only items owned by this agency.") var owner: String?
    @Option(help: "At most this many items (default 100).") var limit: Int = 100
    @Option(help: "Continue after this cursor (printed at the end of a page).") var cursor: String?

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be between 1 and 1000") }
    }

    func run() async throws {
        let page = try await connection.withConnection { hub -> Components.Schemas.ItemPage in
            switch try await hub.api.listItems(query: .init(unit: unit, kind: kind, classification: classification, owner: owner, limit: limit, cursor: cursor)) {
            case .ok(let ok): return try ok.body.json
            case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
            }
        }
        if connection.json { return try Output.json(page) }
        if page.items.isEmpty {
            print("No items visible to you\(unit.map { " about \($0)" } ?? "").")
            return
        }
        Output.table(["ID", "LEVEL", "KIND", "OWNER", "UNIT", "CREATED", "TITLE"], page.items.map { item in
            [item.id, item.classification, item.kind, item.owner, item.unit, Show.time(item.createdAt),
             item.access == .withheld ? "(withheld: ask for access)"
                : item.integrityError == true ? "(integrity error: report to the hub's operator)" : (item.title ?? "")]
        })
        if let next = page.nextCursor { print("More: liaison list --cursor \(next)") }
    }
}
