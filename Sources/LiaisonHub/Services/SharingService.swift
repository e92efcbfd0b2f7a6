import Foundation
public import LiaisonCore
import LiaisonStore
import Logging

/// Sharing beyond the policy: access requests and their reviews, and the grants approvals create. The policy
/// says who approves and how many (docs/sharing.md); enough approvals create a grant for exactly the requested
/// items, one eligible deny ends the request.
public struct SharingService: Sendable {
    let requests: any RequestStore
    let grants: any GrantStore
    let items: any ItemStore
    let alerts: AlertService
    let access: AccessResolver
    let vault: ItemVault
    let ids: ItemIDGenerator
    let feedWaiters: FeedWaiters
    let limits: HubLimits
    let logger: Logger
    /// What large answers being sent may hold (`HubLimits.answerBudget`).
    let answers: ByteBudget

    public func createRequest(_ new: NewAccessRequest, in context: HubContext) async throws -> RequestView {
        try await context.traced(.createRequest, targets: new.items ?? [], unit: new.unit) {
            let (items, duration, reason) = try await validate(new, in: context)
            let request = try await file(new, items: items, duration: duration, reason: reason, in: context)
            return try view(request, items: items, reviews: [], in: context)
        }
    }

    /// A request for items the caller has already found withheld and approvable (a dossier's): they are not read
    /// again, and no view of the request is built, since the caller needs only its id.
    func createRequest(for items: [Item], reason: String, duration: String, in context: HubContext) async throws -> AccessRequest {
        let new = NewAccessRequest(items: items.map(\.id), reason: reason, duration: duration)
        return try await context.traced(.createRequest, targets: items.map(\.id), unit: nil) {
            let (duration, reason) = try terms(of: new)
            try checkApprovable(items, for: duration, in: context)
            return try await file(new, items: items, duration: duration, reason: reason, in: context)
        }
    }

    /// Stores a checked request, its audit entry and the approvers' feed events, and wakes those approvers.
    func file(_ new: NewAccessRequest, items: [Item], duration: Period, reason: String, in context: HubContext) async throws -> AccessRequest {
        let (policy, requester, now) = (context.policy, context.principal, context.now)
        let subjects = SubjectCount.of(items)
        let request = AccessRequest(id: ids.next(at: now), requester: requester.id, agency: requester.agency.id, reason: reason, itemIDs: items.map(\.id),
                                    unit: new.unit, duration: duration, createdAt: now, expiresAt: now.addingTimeInterval(Double(policy.requestLifetime.seconds)),
                                    subjects: subjects)
        var detail = ["items": String(items.count), "duration": duration.description, "reason": reason]
        if let unit = new.unit { detail["unit"] = unit }
        if let alert = new.alert { detail["alert"] = alert }
        // Each approver the request concerns learns that it awaits them (asked once per subject: a dossier's thousands
        // of items share a few).
        let approvers = Set(subjects.flatMap { policy.eligibleApprovers(for: $0.subject, forRequestBy: requester.agency.id, at: now) })
        let levels = Set(subjects.map(\.subject.classification.rawValue)).sorted().joined(separator: ",")
        var said = ["requester": requester.id, "agency": requester.agency.id, "items": String(items.count), "levels": levels]
        if let alert = new.alert { said["alert"] = alert }
        let events = approvers.sorted().map { FeedEvent(principal: $0, kind: .requestAwaitingReview, time: now, request: request.id, detail: said) }
        try await requests.insertRequest(request, audit: AuditRecord(time: now, actor: requester.id, action: .createRequest, targets: [request.id] + request.itemIDs,
                                                                     unit: new.unit, detail: detail), events: events)
        feedWaiters.notify(approvers)
        return request
    }

    /// One request, for its requesting agency, the approvers it concerns, and auditors; 404 for anyone else.
    public func request(id: String, in context: HubContext) async throws -> RequestView {
        try await context.traced(.getRequest, targets: [id]) {
            let (request, items, reviews) = try await visibleRequest(id: id, in: context)
            try await context.record(.getRequest, targets: [id], unit: request.unit)
            return try view(request, items: items, reviews: reviews, in: context)
        }
    }

    /// One request as `encode` writes it: a dossier's names thousands of items (10,000 made 2.9 MB), so one larger than
    /// `DeliveredBody.wholeLimit` holds its share of the answer budget while it is made and sent, as a dossier's
    /// manifest does, at `requestBytesPerItem` an item until it is written; refused (503 busy) before it is recorded.
    public func requestAnswer(id: String, in context: HubContext, encode: (RequestView) throws -> [UInt8]) async throws -> DeliveredBody {
        try await context.traced(.getRequest, targets: [id]) {
            let (request, reviews) = try await concernedRequest(id: id, in: context)
            let (_, body) = try await answers.answer(entries: request.itemIDs.count, bytesPerEntry: Self.requestBytesPerItem, for: context.principal.id) {
                try view(request, items: try await items.items(ids: request.itemIDs), reviews: reviews, in: context)
            } encode: { try encode($0) }
            try await context.record(.getRequest, targets: [id], unit: request.unit)
            return body
        }
    }

    /// What a request's answer is taken to weigh for each of its items until it is written: 288 bytes an item without
    /// its title (10,000 withheld from their requester), more with one.
    static let requestBytesPerItem = 384

    /// With `mine`, the requests of the viewer's agency (optionally of one status); otherwise those awaiting the viewer's review.
    /// Each as a summary: a dossier's request names thousands of items, and a listing of views of them all took
    /// seconds and a megabyte a request; `request(id:)` shows one with its items.
    public func requests(mine: Bool, status: String?, in context: HubContext) async throws -> [RequestSummary] {
        try await context.traced(.listRequests) {
            let (policy, viewer, now) = (context.policy, context.principal, context.now)
            var wanted: AccessRequest.Status?
            if let status {
                guard let parsed = AccessRequest.Status(rawValue: status) else {
                    throw HubError.invalidField("status", "unknown status '\(status)'", hint: "Use one of: \(AccessRequest.Status.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                wanted = parsed
            }
            var views: [RequestSummary] = []
            if mine {
                for request in try await requests.requests(matching: RequestQuery(agency: viewer.agency.id, limit: 500)) where wanted == nil || request.status(at: now) == wanted {
                    views.append(summary(request, subjects: try await subjectCounts(of: request), reviews: try await requests.reviews(requestID: request.id), in: context))
                }
            } else {
                for request in try await requests.requests(matching: RequestQuery(openAt: now, limit: 500)) {
                    let subjects = try await subjectCounts(of: request)
                    guard policy.reviewRefusal(viewer, of: request, items: subjects.map { ("", $0.subject) }, at: now) == nil else { continue }
                    let reviews = try await requests.reviews(requestID: request.id)
                    guard !reviews.contains(where: { $0.reviewer == viewer.id }) else { continue }
                    views.append(summary(request, subjects: subjects, reviews: reviews, in: context))
                }
            }
            try await context.record(.listRequests, targets: views.map(\.request.id), detail: ["mine": String(mine), "count": String(views.count)])
            return views
        }
    }

    /// An approval or a deny, with its comment.
    public func review(requestID id: String, _ decision: Review.Decision, comment: String?, in context: HubContext) async throws -> RequestView {
        let action: AuditAction = decision == .approve ? .approveRequest : .denyRequest
        return try await context.traced(action, targets: [id]) {
            let (policy, reviewer, now) = (context.policy, context.principal, context.now)
            guard let comment = comment?.trimmingCharacters(in: .whitespacesAndNewlines), !comment.isEmpty else {
                throw HubError.invalidField("comment", "a review needs a comment", hint: "Say why you \(decision == .approve ? "approve" : "deny"), e.g. --comment \"needed for the inspection\"")
            }
            try HubError.requireStorable(comment, field: "comment")
            guard comment.count <= 2000 else { throw HubError.invalidField("comment", "the comment has \(comment.count) characters", hint: "Keep comments to 2000 characters") }
            let (request, items, _) = try await visibleRequest(id: id, in: context)
            let subjects = items.map { (id: $0.id, subject: $0.subject) }
            if let refusal = policy.reviewRefusal(reviewer, of: request, items: subjects, at: now) { throw Self.refusal(refusal, request: request) }
            let grantID = ids.next(at: now)
            let holders = policy.principals(of: request.agency)
            let review = Review(requestID: id, reviewer: reviewer.id, agency: reviewer.agency.id, decision: decision, comment: comment, time: now)
            let resolution = try await requests.review(review) { current, earlier in
                let status = current.status(at: now)
                guard status == .pending else { throw Self.closed(current, status: status) }
                guard !earlier.contains(where: { $0.reviewer == reviewer.id }) else {
                    throw HubError(.forbidden, code: "already_reviewed", message: "you have already reviewed request \(id)",
                                   hint: "Each approver reviews a request once; `liaison requests show \(id)` shows where it stands")
                }
                var outcome = AccessRequest.Status.pending
                var grant: Grant?
                if decision == .deny {
                    outcome = .denied
                } else {
                    let approvals = earlier.filter { $0.decision == .approve }.map(\.reviewer) + [reviewer.id]
                    if policy.tally(current, items: subjects, approvals: approvals, at: now).allSatisfy(\.isSatisfied) {
                        outcome = .approved
                        grant = Grant(id: grantID, requestID: id, agency: current.agency, itemIDs: current.itemIDs, createdAt: now,
                                      expiresAt: now.addingTimeInterval(Double(current.duration.seconds)))
                    }
                }
                var detail = ["status": outcome.rawValue]
                if let grant { detail["grant"] = grant.id }
                let entry = AuditRecord(time: now, actor: reviewer.id, action: action, targets: [id] + current.itemIDs, unit: current.unit, detail: detail)
                // The requesting agency's principals learn the decision, and what a grant lets them read.
                var events: [FeedEvent] = []
                if outcome != .pending {
                    for holder in holders {
                        events.append(FeedEvent(principal: holder, kind: .requestDecided, time: now, request: id, grant: grant?.id, detail: detail))
                        if let grant {
                            events.append(FeedEvent(principal: holder, kind: .grantCreated, time: now, request: id, grant: grant.id,
                                                    detail: ["items": grant.itemIDs.joined(separator: ","), "expires_at": ISO8601DateFormatter().string(from: grant.expiresAt)]))
                        }
                    }
                }
                return ReviewResolution(decision: outcome, grant: grant, audit: [entry], events: events)
            }
            feedWaiters.notify(resolution.events.map(\.principal))
            if resolution.decision != .pending {
                logger.info("access request decided", metadata: ["request": "\(id)", "decision": "\(resolution.decision.rawValue)", "grant": "\(resolution.grant?.id ?? "-")"])
            }
            guard let updated = try await requests.request(id: id) else { throw HubError.requestNotFound(id) }
            return try view(updated, items: items, reviews: try await requests.reviews(requestID: id), in: context)
        }
    }

    // MARK: helpers

    /// Checks a new request and resolves its items; every problem is a 400 naming its part.
    func validate(_ new: NewAccessRequest, in context: HubContext) async throws -> ([Item], Period, String) {
        let (duration, reason) = try terms(of: new)
        let items: [Item]
        switch (new.items, new.unit, new.alert) {
        case (let ids?, nil, nil):
            items = try await requestable(ids, in: context, limit: limits.requestItems)
        case (nil, let unit?, nil):
            items = try await withheldItems(of: unit, in: context)
        case (nil, nil, let alert?):
            items = try await itemsBehind(alert, in: context)
        default:
            throw HubError.invalidField("items", "give one of items, unit or alert",
                                        hint: "Ask for item ids (--items ID...), for every item of a unit you cannot read yet (--unit UNIT), or for the items behind a risk alert (--alert ID)")
        }
        try checkApprovable(items, for: duration, in: context)
        return (items, duration, reason)
    }

    /// A request's duration and reason, checked.
    func terms(of new: NewAccessRequest) throws -> (Period, String) {
        guard let reason = new.reason?.trimmingCharacters(in: .whitespacesAndNewlines), !reason.isEmpty else {
            throw HubError.invalidField("reason", "a request needs a reason", hint: "Say why you need these items, e.g. --reason \"pre-inspection of transport-bureau\"")
        }
        try HubError.requireStorable(reason, field: "reason")
        guard reason.count <= 2000 else { throw HubError.invalidField("reason", "the reason has \(reason.count) characters", hint: "Keep reasons to 2000 characters") }
        guard let durationText = new.duration else {
            throw HubError.invalidField("duration", "a request needs a duration", hint: "Say for how long, e.g. 7d; \(Period.formatHint)")
        }
        guard let duration = Period(durationText) else {
            throw HubError.invalidField("duration", "'\(durationText)' is not a duration", hint: Period.formatHint)
        }
        return (duration, reason)
    }

    /// That the policy lets some approvers grant each item to the requester, for as long as asked.
    func checkApprovable(_ items: [Item], for duration: Period, in context: HubContext) throws {
        let (policy, requester, now) = (context.policy, context.principal, context.now)
        var highest: (Classification, Period)?
        let unapprovable = policy.unapprovable(items, forRequestBy: requester.agency.id, at: now)
        for item in items {
            guard let rule = policy.levels[item.classification]?.approval else {
                throw HubError.invalidField("items", "\(item.classification.rawValue) items such as \(item.id) cannot be shared by approval under this policy",
                                            hint: "Leave \(item.id) out of the request")
            }
            if highest.map({ item.classification > $0.0 }) ?? true { highest = (item.classification, rule.maxGrant) }
            guard !unapprovable.contains(item.id) else {
                throw HubError.invalidField("items", "no set of approvers the policy allows could approve item \(item.id) for \(requester.agency.id)",
                                            hint: "Leave \(item.id) out, or ask the policy's administrator about approvers for \(item.classification.rawValue) items")
            }
        }
        if let (level, cap) = highest, duration > cap {
            throw HubError.invalidField("duration", "\(duration) is longer than the \(cap) the policy allows for \(level.rawValue) items",
                                        hint: "Ask for \(cap) or less")
        }
    }

    /// The named items, each one the requester knows about and cannot read yet.
    func requestable(_ ids: [String], in context: HubContext, limit: Int) async throws -> [Item] {
        var seen: Set<String> = []
        let unique = ids.filter { seen.insert($0).inserted }
        guard !unique.isEmpty else { throw HubError.invalidField("items", "the list of items is empty", hint: "Name at least one item id") }
        guard unique.count <= limit else {
            throw HubError.invalidField("items", "\(unique.count) items in one request", hint: "Ask for at most \(limit) items per request")
        }
        let found = Dictionary(uniqueKeysWithValues: try await items.items(ids: unique).map { ($0.id, $0) })
        var requested: [Item] = []
        let accessNow = try await access.readerAccess(to: found.values, in: context)
        for id in unique {
            let item = found[id]
            let access = item.map(accessNow.of) ?? .hidden
            guard let item, access != .hidden else {
                throw HubError.invalidField("items", "item \(id) does not exist or is not visible to you", hint: "Check the id; `liaison list` shows the items you can see")
            }
            guard access != .read else {
                throw HubError.invalidField("items", "you can already read item \(id)", hint: "Leave \(id) out of the request; `liaison get \(id)` fetches it")
            }
            requested.append(item)
        }
        return requested
    }

    /// Every item of `unit` the requester sees only as a withheld stub.
    func withheldItems(of unit: String, in context: HubContext) async throws -> [Item] {
        try HubError.requireUnit(unit, in: context.policy)
        let accessNow = try await access.readerAccess(in: context)
        var withheld: [Item] = []
        var query = ItemQuery(unit: unit, limit: 500)
        while true {
            let batch = try await items.items(matching: query)
            for item in batch where accessNow.of(item) == .withheld {
                withheld.append(item)
            }
            // Refused as soon as it is over the limit: reading a unit of 10,000 items whole to refuse it cost the hub 28 ms of CPU (6 ms now).
            guard withheld.count <= limits.requestItems else {
                throw HubError.invalidField("unit", "more than \(limits.requestItems) withheld items in \(unit)",
                                            hint: "Ask for at most \(limits.requestItems) items, by id, or build an inspection dossier of the unit")
            }
            guard batch.count == query.limit, let last = batch.last else { break }
            query.before = last.id
        }
        guard !withheld.isEmpty else {
            throw HubError.invalidField("unit", "there is nothing in \(unit) that you see withheld", hint: "`liaison list --unit \(unit)` shows what you can already read")
        }
        return withheld.reversed()
    }

    /// The items behind an alert sent to the requester that it cannot read yet and some approver could grant it:
    /// the alert already told it they exist, and by which agencies.
    func itemsBehind(_ alertID: String, in context: HubContext) async throws -> [Item] {
        let (policy, requester, now) = (context.policy, context.principal, context.now)
        let alert = try await alerts.alert(id: alertID, sentTo: requester)
        let behind = try await items.items(ids: alert.itemIDs)
        let accessNow = try await access.readerAccess(to: behind, in: context)
        let unread = behind.filter { accessNow.of($0) != .read }
        guard !unread.isEmpty else {
            throw HubError.invalidField("alert", "you can already read every item behind alert \(alertID)", hint: "`liaison alerts` shows it; `liaison get ID` fetches an item")
        }
        let unapprovable = policy.unapprovable(unread, forRequestBy: requester.agency.id, at: now)
        let grantable = unread.filter { !unapprovable.contains($0.id) && policy.levels[$0.classification]?.approval != nil }
        guard !grantable.isEmpty else {
            throw HubError.invalidField("alert", "no approver the policy allows could grant you the \(unread.count) items behind alert \(alertID) that you cannot read",
                                        hint: "Ask the policy's administrator who may share them with \(requester.agency.id)")
        }
        guard grantable.count <= limits.requestItems else {
            throw HubError.invalidField("alert", "\(grantable.count) items behind alert \(alertID)", hint: "Ask for at most \(limits.requestItems) items, by id")
        }
        return grantable
    }

    /// The request if the viewer may see it: its agency, an approver it concerns (eligible or already reviewed), or an auditor.
    func visibleRequest(id: String, in context: HubContext) async throws -> (AccessRequest, [Item], [Review]) {
        let (request, reviews) = try await concernedRequest(id: id, in: context)
        return (request, try await items.items(ids: request.itemIDs), reviews)
    }

    /// The request and its reviews, if the viewer is of its agency, an auditor, one of its reviewers or an approver of
    /// one of its items; 404 otherwise. Decided on the subjects kept with the request, before its items are read: a
    /// dossier's names thousands, which anyone who had its id could otherwise make the hub read for a 404.
    func concernedRequest(id: String, in context: HubContext) async throws -> (AccessRequest, [Review]) {
        let (policy, viewer, now) = (context.policy, context.principal, context.now)
        guard let request = try await requests.request(id: id) else { throw HubError.requestNotFound(id) }
        let reviews = try await requests.reviews(requestID: id)
        if viewer.agency.id == request.agency || viewer.roles.contains(.auditor) || reviews.contains(where: { $0.reviewer == viewer.id }) {
            return (request, reviews)
        }
        guard try await subjectCounts(of: request).contains(where: { policy.mayApprove(viewer, $0.subject, forRequestBy: request.agency, at: now) }) else {
            throw HubError.requestNotFound(id)
        }
        return (request, reviews)
    }

    /// The subjects of the request's items: as kept with it, or read from its items for a request stored before they were.
    func subjectCounts(of request: AccessRequest) async throws -> [SubjectCount] {
        guard request.subjects.isEmpty else { return request.subjects }
        return SubjectCount.of(try await items.items(ids: request.itemIDs))
    }

    func summary(_ request: AccessRequest, subjects: [SubjectCount], reviews: [Review], in context: HubContext) -> RequestSummary {
        let approvals = reviews.filter { $0.decision == .approve }.map(\.reviewer)
        let tally = context.policy.tally(request, items: subjects.map { ("", $0.subject) }, approvals: approvals, at: context.now)
        return RequestSummary(request: request, status: request.status(at: context.now), levels: Set(subjects.map(\.subject.classification)).sorted(),
                              approvalsNeeded: tally.map(\.remaining).max() ?? 0, commissionApprovalNeeded: tally.contains(where: \.commissionApprovalMissing),
                              reviews: reviews)
    }

    func view(_ request: AccessRequest, items: [Item], reviews: [Review], in context: HubContext) throws -> RequestView {
        let (policy, viewer, now) = (context.policy, context.principal, context.now)
        let approvals = reviews.filter { $0.decision == .approve }.map(\.reviewer)
        let tally = policy.tally(request, items: items.map { ($0.id, $0.subject) }, approvals: approvals, at: now)
        let cipher = vault.cipher
        let shown = try zip(items, tally).map { item, approval -> RequestedItem in
            // Approvers see titles of levels whose metadata is not sealed; sealed titles only those who can read the item.
            let readable = policy.access(of: viewer, to: item.subject, at: now) == .read
            let sealed = policy.levels[item.classification]?.payloadAtRest == .encrypted
            let approver = policy.mayApprove(viewer, item.subject, forRequestBy: request.agency, at: now)
            if readable || (approver && !sealed) {
                return RequestedItem(item: try vault.opened(item, cipher), showsContent: true, approval: approval)
            }
            return RequestedItem(item: item, showsContent: false, approval: approval)
        }
        return RequestView(request: request, status: request.status(at: now), items: shown, reviews: reviews)
    }

    static func refusal(_ refusal: ReviewRefusal, request: AccessRequest) -> HubError {
        switch refusal {
        case .ownRequest:
            return HubError(.forbidden, code: refusal.rawValue, message: "you made request \(request.id); no one reviews their own request",
                            hint: "An approver outside \(request.agency) decides it")
        case .ownAgencyRequest:
            return HubError(.forbidden, code: refusal.rawValue, message: "request \(request.id) was made by your agency, \(request.agency); no one reviews a request of their own agency",
                            hint: "An approver outside \(request.agency) decides it")
        case .notEligible:
            return HubError(.forbidden, code: refusal.rawValue, message: "you are not an approver the policy allows for the items of request \(request.id)",
                            hint: "`liaison requests show \(request.id)` lists who may approve each item")
        }
    }

    static func closed(_ request: AccessRequest, status: AccessRequest.Status) -> HubError {
        HubError(.conflict, code: "request_closed", message: "request \(request.id) is \(status.rawValue); it takes no more reviews",
                 hint: status == .expired ? "The requester may file a new request" : "`liaison requests show \(request.id)` shows how it was decided")
    }
}

extension HubError {
    static func requestNotFound(_ id: String) -> HubError {
        HubError(.notFound, code: "not_found", message: "no request \(id) is visible to you", hint: "Check the id; `liaison requests` lists those awaiting you, `--mine` your agency's")
    }
}
