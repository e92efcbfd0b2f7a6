import ArgumentParser
import Foundation
import LiaisonAPI
import LiaisonClient

/// Access requests: what awaits an approver, what an agency asked for, one request in full.
struct RequestsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requests",
        abstract: "List access requests awaiting your review (or --mine), or show one.",
        subcommands: [Awaiting.self, ShowRequest.self],
        defaultSubcommand: Awaiting.self)

    struct Awaiting: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "Requests awaiting your review; with --mine, your agency's requests.",
            discussion: "Approve with `liaison approve ID --comment \"...\"`, deny with `liaison deny ID --comment \"...\"`.")

        @Flag(help: "Your agency's requests instead of those awaiting your review.") var mine = false
        @Option(help: "With --mine: only requests of this status.") var status: Components.Schemas.RequestStatus?
        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            if status != nil && !mine { throw ValidationError("--status applies to --mine; the requests awaiting you are all pending") }
        }

        func run() async throws {
            let list = try await connection.withConnection { hub -> Components.Schemas.RequestList in
                switch try await hub.api.listRequests(query: .init(mine: mine ? true : nil, status: status)) {
                case .ok(let ok): return try ok.body.json
                case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
                }
            }
            if connection.json { return try Output.json(list) }
            guard !list.requests.isEmpty else {
                print(mine ? "Your agency has no requests\(status.map { " that are \($0)" } ?? "")." : "Nothing awaits your review.")
                return
            }
            let now = Date()
            Output.table(["ID", "REQUESTER", "ITEMS", "LEVELS", "REASON", "AGE", mine ? "STATUS" : "APPROVALS"], list.requests.map { request in
                let approvals = request.reviews.filter { $0.decision == .approve }.count
                let needed = request.approvalsNeeded
                return [request.id, request.requester, String(request.itemCount), request.levels.joined(separator: ","), RequestsCommand.shorten(request.reason, 30),
                        RequestsCommand.age(since: request.createdAt, now: now),
                        mine ? request.status.rawValue : "\(approvals) so far, \(needed) more needed"]
            })
        }
    }

    struct ShowRequest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Show one request: its items, who may approve each, and its reviews.",
            discussion: """
                A request of more than \(RequestsCommand.itemsListed) items (a dossier's names every withheld item of its unit) is shown \
                as groups: how many items of each level and owner, what each group still needs and who may approve it. \
                --items lists every item; --json gives the request as the hub sent it.
                """)

        @Argument(help: "The request id.", transform: RecordID.validated) var id: String
        @Flag(help: "List every item, however many the request names.") var items = false
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let request = try await connection.withConnection { hub -> Components.Schemas.AccessRequest in
                switch try await hub.api.getRequest(path: .init(id: id)) {
                case .ok(let ok): return try ok.body.json
                case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
                }
            }
            if connection.json { return try Output.json(request) }
            RequestsCommand.describe(request, everyItem: items)
        }
    }

    /// The most items `requests show` lists one by one unless asked (`--items`): more are shown as groups.
    static let itemsListed = 50

    static func describe(_ request: Components.Schemas.AccessRequest, everyItem: Bool) {
        var lines = [("id", request.id), ("status", request.status.rawValue), ("requester", "\(request.requester) for \(request.agency)"),
                     ("reason", request.reason), ("for", request.duration), ("created", Show.time(request.createdAt)),
                     (request.status == .pending ? "expires" : "open until", Show.time(request.expiresAt))]
        if let unit = request.unit { lines.append(("unit", unit)) }
        if let grant = request.grantId { lines.append(("grant", grant)) }
        for (name, value) in lines { print(name.padding(toLength: 12, withPad: " ", startingAt: 0) + value) }
        print("")
        if everyItem || request.items.count <= itemsListed {
            Output.table(["ITEM", "LEVEL", "KIND", "OWNER", "TITLE", "NEEDS", "MAY APPROVE"], request.items.map { item in
                [item.id, item.classification, item.kind, item.owner, item.title ?? "(not shown)", needs(item), item.eligibleApprovers.joined(separator: ", ")]
            })
        } else {
            print("\(request.items.count) items, in groups (`liaison requests show \(request.id) --items` lists each one):")
            Output.table(["ITEMS", "LEVEL", "OWNER", "NEEDS", "MAY APPROVE"], groups(of: request.items).map { group in
                [String(group.count), group.level, group.owner, group.needs, group.approvers]
            })
        }
        if !request.reviews.isEmpty {
            print("")
            Output.table(["REVIEWER", "AGENCY", "DECISION", "TIME", "COMMENT"], request.reviews.map {
                [$0.reviewer, $0.agency, $0.decision.rawValue, Show.time($0.time), $0.comment]
            })
        }
    }

    static func needs(_ item: Components.Schemas.RequestItem) -> String {
        item.approvalsNeeded == 0 ? "done" : "\(item.approvalsNeeded)\(item.commissionApprovalNeeded ? " (1 commission)" : "")"
    }

    /// A request's items counted by what an approver decides on: level, owner, what is still needed and by whom
    /// (approval rules are the policy's per owner and level). Largest groups first.
    static func groups(of items: [Components.Schemas.RequestItem]) -> [(count: Int, level: String, owner: String, needs: String, approvers: String)] {
        var counts: [[String]: Int] = [:]
        for item in items {
            counts[[item.classification, item.owner, needs(item), item.eligibleApprovers.joined(separator: ", ")], default: 0] += 1
        }
        return counts.map { (count: $0.value, level: $0.key[0], owner: $0.key[1], needs: $0.key[2], approvers: $0.key[3]) }
            .sorted { ($1.count, $0.level, $0.owner, $0.needs, $0.approvers) < ($0.count, $1.level, $1.owner, $1.needs, $1.approvers) }
    }

    static func age(since date: Date, now: Date) -> String {
        let seconds = max(0, Int(now.timeIntervalSince(date)))
        if seconds < 3600 { return "\(seconds / 60)m" }
        if seconds < 86_400 { return "\(seconds / 3600)h" }
        return "\(seconds / 86_400)d"
    }

    static func shorten(_ text: String, _ length: Int) -> String {
        text.count <= length ? text : String(text.prefix(length - 1)) + "…"
    }
}
