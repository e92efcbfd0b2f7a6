import ArgumentParser
import LiaisonAPI
import LiaisonClient

/// `liaison approve` and `liaison deny`: one review with a comment.
struct ApproveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "approve", abstract: "Approve an access request, with a comment.",
                                                    discussion: "Enough approvals create a grant for exactly the requested items.")
    @OptionGroup var review: ReviewOptions

    func run() async throws { try await review.send(.approve) }
}

struct DenyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "deny", abstract: "Deny an access request, with a comment.",
                                                    discussion: "One deny by an eligible approver ends the request.")
    @OptionGroup var review: ReviewOptions

    func run() async throws { try await review.send(.deny) }
}

struct ReviewOptions: ParsableArguments {
    enum Verdict { case approve, deny }

    @Argument(help: "The request id (`liaison requests` lists those awaiting you).", transform: RecordID.validated) var id: String
    @Option(help: "Why (required).") var comment: String
    @OptionGroup var connection: ConnectionOptions

    func send(_ verdict: Verdict) async throws {
        let body = Components.Schemas.ReviewBody(comment: comment)
        let request = try await connection.withConnection { hub -> Components.Schemas.AccessRequest in
            switch verdict {
            case .approve:
                switch try await hub.api.approveRequest(path: .init(id: id), body: .json(body)) {
                case .ok(let ok): return try ok.body.json
                case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
                }
            case .deny:
                switch try await hub.api.denyRequest(path: .init(id: id), body: .json(body)) {
                case .ok(let ok): return try ok.body.json
                case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
                }
            }
        }
        if connection.json { return try Output.json(request) }
        switch request.status {
        case .approved:
            print("Approved \(request.id): \(request.agency) may read its \(request.items.count) item(s) for \(request.duration) (grant \(request.grantId ?? "")).")
        case .denied:
            print("Denied \(request.id): \(request.agency) gets no access.")
        default:
            let needed = request.items.map(\.approvalsNeeded).max() ?? 0
            let commission = request.items.contains(where: \.commissionApprovalNeeded) ? ", one of them from the commission" : ""
            print("Approval recorded on \(request.id); it still needs \(needed) more approval(s)\(commission).")
        }
    }
}
