import Foundation
public import LiaisonCore
import LiaisonStore

/// Pre-inspection dossiers (DESIGN.md §8) and rectification tracking.
extension Hub {
    /// Builds the dossier of `unit` for an inspection team assigned to it: every item it may read, stubs of the
    /// rest, and one access request for the withheld ones.
    public func createDossier(unit: String, reason: String?, by team: Principal) async throws -> DossierView {
        try await traced(team.id, "createDossier", unit: unit) {
            let now = clock()
            guard let reason = reason?.trimmingCharacters(in: .whitespacesAndNewlines), !reason.isEmpty else {
                throw HubError.invalidField("reason", "a dossier needs a reason", hint: "Say what the inspection is, e.g. --reason \"第二轮巡察\"")
            }
            try HubError.requireStorable(reason, field: "reason")
            guard policy.units[unit] != nil else {
                throw HubError.invalidField("unit", "unknown unit '\(unit)'", hint: "Use a unit declared in the policy: \(policy.units.keys.sorted().joined(separator: ", "))")
            }
            try checkAssignment(of: team, to: unit, at: now)
            let accessNow = try await readerAccess(team, at: now)
            var items: [Item] = []
            var query = ItemQuery(unit: unit, limit: 1000)
            while true {
                let batch = try await store.items(matching: query)
                items += batch
                guard batch.count == query.limit, let last = batch.last else { break }
                query.before = last.id
            }
            var kept: [Item] = []
            var withheld: [Item] = []
            for item in items {
                let access = accessNow.of(item)
                guard access != .hidden else { continue }
                kept.append(item)
                if access == .withheld { withheld.append(item) }
            }
            // Only what some set of approvers could grant goes into the request; the rest stays withheld.
            let unapprovable = unapprovable(withheld, forRequestBy: team.agency.id, at: now)
            withheld.removeAll { unapprovable.contains($0.id) }
            var requestID: String?
            if !withheld.isEmpty {
                // One request for everything withheld (however many), for as long as the highest level involved allows.
                let highest = withheld.map(\.classification).max()!
                let cap = policy.levels[highest]?.approval?.maxGrant ?? Period(seconds: 86_400)
                requestID = try await createRequest(NewAccessRequest(items: withheld.map(\.id), reason: "dossier of \(unit): \(reason)", duration: cap.description),
                                                    by: team, itemLimit: .max).request.id
            }
            let dossier = Dossier(id: ids.next(at: now), unit: unit, agency: team.agency.id, requester: team.id, reason: reason, requestID: requestID,
                                  itemIDs: kept.map(\.id), createdAt: now)
            try await store.insertDossier(dossier, audit: AuditRecord(time: now, actor: team.id, action: "createDossier", targets: [dossier.id] + (requestID.map { [$0] } ?? []),
                                                                      unit: unit, outcome: "ok", detail: ["items": String(kept.count), "withheld": String(withheld.count), "reason": reason]))
            return try await view(dossier, for: team, items: kept, at: now)
        }
    }

    /// The dossier for its team (and auditors), with each item's access now.
    public func dossier(id: String, by viewer: Principal) async throws -> DossierView {
        try await traced(viewer.id, "getDossier", targets: [id]) {
            let now = clock()
            guard let dossier = try await store.dossier(id: id), dossier.agency == viewer.agency.id || viewer.roles.contains(.auditor) else {
                throw HubError(.notFound, code: "not_found", message: "no dossier \(id) is visible to you", hint: "Check the id that `liaison dossier create` printed")
            }
            let view = try await view(dossier, for: viewer, items: try await store.items(ids: dossier.itemIDs), at: now)
            try await record(viewer.id, "getDossier", targets: [id], unit: dossier.unit, detail: ["readable": String(view.readableCount), "withheld": String(view.withheldCount)])
            return view
        }
    }

    /// Feedback items of `unit` the viewer may read, with whether and when rectification was reported.
    public func rectification(unit: String, by viewer: Principal) async throws -> [DossierSummary.Feedback] {
        try await traced(viewer.id, "listRectification", unit: unit) {
            guard policy.units[unit] != nil else {
                throw HubError.invalidField("unit", "unknown unit '\(unit)'", hint: "Use a unit declared in the policy: \(policy.units.keys.sorted().joined(separator: ", "))")
            }
            let now = clock()
            let page = try await listPage(ListRequest(unit: unit, kind: "feedback", limit: limits.pageSize), by: viewer)
            let feedback = try await feedbackStatus(page.items.filter { !$0.isWithheld }.map(\.item), for: viewer, at: now)
            try await record(viewer.id, "listRectification", targets: feedback.map(\.itemID), unit: unit, detail: ["count": String(feedback.count)])
            return feedback
        }
    }

    func checkAssignment(of team: Principal, to unit: String, at now: Date) throws {
        guard team.agency.type == .inspectionTeam else {
            throw HubError(.forbidden, code: "not_an_inspection_team", message: "only inspection teams build pre-inspection dossiers; \(team.agency.id) is a \(team.agency.type.rawValue)",
                           hint: "List the unit's items with `liaison list --unit \(unit)` instead")
        }
        let windows = team.agency.assignments.filter { $0.unit == unit }.map(\.window)
        guard !windows.isEmpty else {
            throw HubError(.forbidden, code: "not_assigned", message: "\(team.agency.id) is not assigned to inspect \(unit)",
                           hint: "Ask the commission to assign the team to \(unit) in the policy")
        }
        let lead = Double(policy.dossierLeadTime.seconds)
        guard windows.contains(where: { $0.contains(now) || ($0.from > now && $0.from.timeIntervalSince(now) <= lead) }) else {
            let day = { (date: Date) in String(ISO8601DateFormatter().string(from: date).prefix(10)) }
            if let upcoming = windows.filter({ $0.from > now }).map(\.from).min() {
                throw HubError(.forbidden, code: "window_not_open", message: "\(team.agency.id)'s window on \(unit) opens on \(day(upcoming)), more than \(policy.dossierLeadTime) from now",
                               hint: "Build the dossier within \(policy.dossierLeadTime) of the window's start")
            }
            let closed = windows.map(\.endExclusive).max()!
            throw HubError(.forbidden, code: "window_closed", message: "\(team.agency.id)'s window on \(unit) closed on \(day(closed.addingTimeInterval(-1)))",
                           hint: "A new assignment in the policy is needed to inspect \(unit) again")
        }
    }

    func view(_ dossier: Dossier, for viewer: Principal, items: [Item], at now: Date) async throws -> DossierView {
        let accessNow = try await readerAccess(viewer, at: now)
        let cipher = self.cipher
        var visible: [VisibleItem] = []
        for item in items {
            // An item of the dossier the team can no longer read still shows as the stub it was.
            let access = accessNow.of(item)
            visible.append(shown(item, as: access == .read ? .read : .withheld, cipher))
        }
        let readable = visible.filter { !$0.isWithheld && !$0.damaged }.map(\.item)
        var persons: [String: [String]] = [:]
        var tags: [String: [String]] = [:]
        for item in readable {
            for person in Set(item.persons) { persons[person, default: []].append(item.id) }
            for tag in Set(item.tags) { tags[tag, default: []].append(item.id) }
        }
        let top = { (mentions: [String: [String]]) in
            mentions.sorted { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.key < $1.key }.prefix(10)
                .map { DossierSummary.Mention(name: $0.key, items: $0.value) }
        }
        var openLeads: [DossierSummary.OpenLead] = []
        for item in readable where item.kind == "lead" {
            let lead = try await store.lead(itemID: item.id) ?? Lead.fresh(item)
            if lead.status != .closed { openLeads.append(.init(itemID: item.id, status: lead.status, ageDays: Int(now.timeIntervalSince(item.createdAt) / 86_400))) }
        }
        let summary = DossierSummary(byKind: Dictionary(grouping: visible, by: \.item.kind).mapValues(\.count),
                                     byLevel: Dictionary(grouping: visible, by: \.item.classification.rawValue).mapValues(\.count),
                                     persons: top(persons), tags: top(tags), openLeads: openLeads,
                                     feedback: try await feedbackStatus(readable.filter { $0.kind == "feedback" }, for: viewer, at: now))
        var status: AccessRequest.Status?
        if let id = dossier.requestID { status = try await store.request(id: id)?.status(at: now) }
        return DossierView(dossier: dossier, items: visible, summary: summary, requestStatus: status)
    }

    /// For each feedback item, the first rectification the viewer can see that answers it.
    func feedbackStatus(_ feedback: [Item], for viewer: Principal, at now: Date) async throws -> [DossierSummary.Feedback] {
        let rectifications = try await store.rectifications(answering: feedback.map(\.id)).filter { policy.access(of: viewer, to: $0.subject, at: now) != .hidden }
        return feedback.map { item in
            let first = rectifications.first { $0.answers == item.id }
            return DossierSummary.Feedback(itemID: item.id, title: item.title, rectification: first?.id, rectifiedAt: first?.createdAt)
        }
    }

    /// Ids of the items no set of approvers the policy allows could approve for `agency`. Decided once per
    /// owner, unit and level, which is all it depends on: a dossier's thousands of items share a few of those.
    func unapprovable(_ items: [Item], forRequestBy agency: String, at now: Date) -> Set<String> {
        let probe = AccessRequest(id: "", requester: "", agency: agency, reason: "", itemIDs: [], unit: nil, duration: Period(seconds: 1), createdAt: now, expiresAt: now)
        var decided: [ItemSubject: Bool] = [:]
        var refused: Set<String> = []
        for item in items {
            let subject = item.subject
            let approvable = decided[subject] ?? {
                guard policy.levels[subject.classification]?.approval != nil else { return false }
                return policy.tally(probe, items: [(item.id, subject)], approvals: policy.eligibleApprovers(for: subject, forRequestBy: agency, at: now), at: now)
                    .allSatisfy(\.isSatisfied)
            }()
            decided[subject] = approvable
            if !approvable { refused.insert(item.id) }
        }
        return refused
    }
}
