import ArgumentParser
import Foundation
import LiaisonAPI
import LiaisonClient
import LiaisonCore

extension AuditCommand {
    /// Compares the items the hub stores with what their push entries in the trail say, on this side.
    struct Items: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check that every item you can see is still what its push entry in the trail says.",
            discussion: """
                Reads every pushItem entry of the trail and every item visible to you (read or as a withheld stub), and \
                reports items whose level, kind, owner, unit or payload digest differ from their push entry, items the \
                hub found altered (their seal no longer matches), and items with no push entry at all. Run \
                `liaison audit verify` first: this check is as good as the trail it reads. Items you cannot see are \
                only counted. Exits 0 if every visible item matches, 1 otherwise.
                """)

        @OptionGroup var connection: ConnectionOptions

        /// What a push entry recorded about its item.
        struct Pushed {
            let level: String?
            let kind: String?
            let owner: String?
            let unit: String?
            let sha256: String?
        }

        func run() async throws {
            let (pushes, items) = try await connection.withConnection { hub -> ([String: Pushed], [Components.Schemas.Item]) in
                var pushes: [String: Pushed] = [:]
                try await AuditCommand.pages(hub, filter: Query(action: "pushItem")) { entries in
                    for entry in entries where entry.record.outcome == "ok" {
                        guard let id = entry.record.targets.first else { continue }
                        let detail = entry.record.detail
                        pushes[id] = Pushed(level: detail["classification"], kind: detail["kind"], owner: detail["owner"], unit: entry.record.unit,
                                            sha256: detail["sha256"])
                    }
                }
                return (pushes, try await Self.visibleItems(hub))
            }
            var problems: [String] = []
            var mismatched = Set<String>()
            for item in items {
                let before = problems.count
                defer { if problems.count > before { mismatched.insert(item.id) } }
                if item.integrityError == true { problems.append("item \(item.id): the hub found its stored data altered (its seal does not match)") }
                guard let pushed = pushes[item.id] else {
                    problems.append("item \(item.id): no push entry in the trail names it (was it put into the database by hand?)")
                    continue
                }
                for (field, recorded, stored) in [("level", pushed.level, item.classification), ("kind", pushed.kind, item.kind),
                                                  ("owner", pushed.owner, item.owner), ("unit", pushed.unit, item.unit),
                                                  ("payload digest", pushed.sha256, item.sha256)] {
                    guard let recorded, let stored, recorded != stored else { continue }
                    problems.append("item \(item.id): its \(field) is \(stored), but it was pushed with \(recorded)")
                }
            }
            let unseen = Set(pushes.keys).subtracting(items.map(\.id)).count
            if connection.json {
                return try Output.json(["status": problems.isEmpty ? "match" : "mismatch", "checked": String(items.count),
                                        "not_visible": String(unseen), "problems": problems.joined(separator: "\n")])
            }
            for problem in problems { Output.error(problem) }
            let summary = "\(items.count) visible items checked against \(pushes.count) push entries; \(unseen) pushed items are not visible to you"
            guard problems.isEmpty else {
                Output.error("\(mismatched.count) items do not match the trail. \(summary).")
                throw ExitCode(1)
            }
            print("Every visible item matches its push entry: \(summary).")
        }

        static func visibleItems(_ hub: HubConnection) async throws -> [Components.Schemas.Item] {
            var items: [Components.Schemas.Item] = []
            var cursor: String?
            repeat {
                let page: Components.Schemas.ItemPage
                switch try await hub.api.listItems(query: .init(limit: 1000, cursor: cursor)) {
                case .ok(let ok): page = try ok.body.json
                case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
                }
                items += page.items
                cursor = page.nextCursor
            } while cursor != nil
            return items
        }
    }
}
