import ArgumentParser
import Foundation
import LiaisonAPI
import LiaisonClient

/// The items that share a person or tag with one item, as far as you may see them.
struct RelatedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "related",
        abstract: "Items that share a person or tag with one you can read, across agencies, as far as you may see them.",
        discussion: """
            Items you may read are listed with the names they share; withheld ones as stubs (ask for access with \
            liaison request ID); items you may not see at all are only counted, per level, where you could ask for them.
            """)
    @Argument(help: "The item's id.", transform: RecordID.validated) var id: String
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let related = try await connection.withConnection { hub -> Components.Schemas.RelatedItems in
            switch try await hub.api.relatedItems(path: .init(id: id)) {
            case .ok(let ok): return try ok.body.json
            case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
            }
        }
        if connection.json { return try Output.json(related) }
        let unseen = related.unseen.additionalProperties.filter { $0.value > 0 }.sorted { $0.key < $1.key }
        guard !related.readable.isEmpty || !related.withheld.isEmpty || !unseen.isEmpty else {
            return print("No other item you may see shares a person or tag with \(id).")
        }
        let rows = related.readable.map { entry in
            [entry.item.id, entry.item.classification, entry.item.kind, entry.item.owner, entry.item.unit,
             (entry.persons + entry.tags.map { "#" + $0 }).joined(separator: ", "), entry.item.title ?? ""]
        } + related.withheld.map { stub in
            [stub.id, stub.classification, stub.kind, stub.owner, stub.unit, "(withheld)", "(ask for access: liaison request \(stub.id))"]
        }
        if !rows.isEmpty { Output.table(["ID", "LEVEL", "KIND", "OWNER", "UNIT", "SHARES", "TITLE"], rows) }
        if !unseen.isEmpty {
            print("Also sharing a name, not visible to you: " + unseen.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + ".")
        }
    }
}

/// Where one person appears across the items you may read.
struct PersonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "person",
        abstract: "Where a person appears across the items you can read, and how many withheld items name them.",
        discussion: "Full-width forms, white space and Latin case do not matter: 张 三 and 张三 are one name.")
    @Argument(help: "The person's name.") var name: String
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let found = try await connection.withConnection { hub -> Components.Schemas.PersonAppearances in
            switch try await hub.api.findPerson(query: .init(name: name)) {
            case .ok(let ok): return try ok.body.json
            case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
            }
        }
        if connection.json { return try Output.json(found) }
        if found.items.isEmpty {
            print("No item you can read names \(name).")
        } else {
            Output.table(["ID", "LEVEL", "KIND", "OWNER", "UNIT", "CREATED", "TITLE"], found.items.map { item in
                [item.id, item.classification, item.kind, item.owner, item.unit, Show.time(item.createdAt), item.title ?? ""]
            })
        }
        if found.withheld > 0 {
            print("\(found.withheld) more item(s) you see only withheld name \(name): liaison list shows them as stubs you may ask access for.")
        }
    }
}
