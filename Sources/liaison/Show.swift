import ArgumentParser
import Foundation
import LiaisonAPI
import LiaisonClient

struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show one item's metadata.")

    @Argument(help: "The item id.", transform: RecordID.validated) var id: String
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let item = try await connection.withConnection { hub in try await Self.fetch(id, hub) }
        if connection.json { return try Output.json(item) }
        var lines = [("id", item.id), ("access", item.access.rawValue), ("classification", item.classification), ("kind", item.kind),
                     ("owner", item.owner), ("unit", item.unit), ("created", Self.time(item.createdAt))]
        if item.access == .withheld {
            lines.append(("note", "you may know this item exists but not read it; ask its owner's approvers for access"))
        } else {
            lines += [("title", item.title ?? ""), ("persons", (item.persons ?? []).joined(separator: ", ")), ("tags", (item.tags ?? []).joined(separator: ", ")),
                      ("content type", item.contentType ?? ""), ("size", "\(item.size ?? 0) bytes"), ("sha256", item.sha256 ?? ""), ("pushed by", item.pushedBy ?? "")]
        }
        for (name, value) in lines { print(name.padding(toLength: 15, withPad: " ", startingAt: 0) + value) }
    }

    static func fetch(_ id: String, _ hub: HubConnection) async throws -> Components.Schemas.Item {
        switch try await hub.api.getItem(path: .init(id: id)) {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
        }
    }

    static func time(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
