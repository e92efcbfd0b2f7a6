import ArgumentParser
import Foundation
import LiaisonAPI
import LiaisonClient
import LiaisonCore

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Check a policy folder offline, or explain an access decision.",
        subcommands: [Check.self, Explain.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate a policy folder as the daemon would; lists every problem with file and line.")

        @Argument(help: "The policy folder (default: policies).") var directory: String = "policies"

        func run() async throws {
            do {
                let policy = try PolicyLoader.load(directory: directory)
                print("\(directory): valid. \(policy.agencies.count) agencies, \(policy.people.count) people, \(policy.units.count) units, \(policy.kinds.count) kinds, \(policy.alerts.count) alert rules; principals: \(policy.principalIDs.joined(separator: ", "))")
            } catch let error as PolicyError {
                Output.error("\(directory) is invalid:")
                for problem in error.problems { FileHandle.standardError.write(Data("  \(problem)\n".utf8)) }
                throw ExitCode(1)
            }
        }
    }

    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Explain what a principal may see of an item and which rule decided.",
            discussion: """
                With --item, the hub decides about a stored item (you may explain yourself; auditors and administrators anyone). \
                With --owner, --unit and --classification instead, the decision is made offline from the policy folder \
                (add --kind for a kind with rules of its own, such as feedback).
                """)

        @Option(help: "The principal (certificate CN).") var principal: String
        @Option(help: "A stored item's id (asks the hub).") var item: String?
        @Option(help: "Offline: the owning agency.") var owner: String?
        @Option(help: "Offline: the item's unit.") var unit: String?
        @Option(help: "Offline: the item's level.") var classification: String?
        @Option(help: "Offline: the item's kind (its rule decides where the policy gives the kind one).") var kind: String?
        @Option(help: "Offline: the policy folder.") var policy: String = "policies"
        @Option(help: "Offline: decide as of this day (YYYY-MM-DD, UTC); default now.") var at: String?
        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            let offline = owner != nil || unit != nil || classification != nil || kind != nil
            guard (item != nil) != offline else { throw ValidationError("give either --item ID, or --owner, --unit and --classification") }
            if offline, owner == nil || unit == nil || classification == nil { throw ValidationError("offline explain needs --owner, --unit and --classification") }
            if let at, DateWindow.day(at) == nil { throw ValidationError("--at must be a day like 2026-11-21") }
        }

        func run() async throws {
            let access: String
            let reason: String
            if let item {
                let answer = try await connection.withConnection { hub -> Components.Schemas.AccessExplanation in
                    switch try await hub.api.explainAccess(query: .init(principal: principal, item: item)) {
                    case .ok(let ok): return try ok.body.json
                    case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
                    }
                }
                if connection.json { return try Output.json(answer) }
                (access, reason) = (answer.access.rawValue, answer.reason)
            } else {
                let loaded = try PolicyLoader.load(directory: policy)
                guard let reader = loaded.principal(principal) else { throw ValidationError("'\(principal)' is not declared in \(policy)") }
                guard let level = Classification(rawValue: classification!) else { throw ValidationError("--classification must be one of \(Classification.names)") }
                if let kind, loaded.kinds[kind] == nil {
                    throw ValidationError("'\(kind)' is not a kind declared in \(policy); declared: \(loaded.kinds.keys.sorted().joined(separator: ", "))")
                }
                let subject = ItemSubject(owner: owner!, unit: unit!, classification: level, kind: kind)
                let decision = loaded.decide(for: reader, about: subject, at: at.flatMap(DateWindow.day) ?? Date())
                if connection.json { return try Output.json(["principal": principal, "access": decision.access.rawValue, "reason": decision.reason]) }
                (access, reason) = (decision.access.rawValue, decision.reason)
            }
            let verdict = ["read": "may read", "withheld": "sees only a withheld stub of", "hidden": "does not see"][access] ?? access
            print("\(principal) \(verdict) \(item.map { "item \($0)" } ?? "the item"): \(reason)")
        }
    }
}
