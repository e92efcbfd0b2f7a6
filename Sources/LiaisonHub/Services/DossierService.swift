import Foundation
import LiaisonCore
import LiaisonStore

/// Pre-inspection dossiers and rectification tracking: an inspection team assigned to a unit gets, in one
/// step, every item of the unit it may read, stubs of the rest, and one access request for the withheld ones.
public struct DossierService: Sendable {
    let store: any DossierStore
    let items: any ItemStore
    let leads: any LeadStore
    let requests: any RequestStore
    let itemService: ItemService
    let sharing: SharingService
    let access: AccessResolver
    let vault: ItemVault
    let ids: ItemIDGenerator
    let limits: HubLimits
    /// What bundles of payloads being sent may hold (`HubLimits.answerBudget`).
    let answers: ByteBudget
    let correlation: any CorrelationStore

    /// Builds the dossier of `unit` for an inspection team assigned to it: every item it may read, stubs of the
    /// rest, and one access request for the withheld ones.
    public func createDossier(unit: String, reason: String?, in context: HubContext) async throws -> DossierView {
        try await context.traced(.createDossier, unit: unit) {
            let (policy, team, now) = (context.policy, context.principal, context.now)
            guard let reason = reason?.trimmingCharacters(in: .whitespacesAndNewlines), !reason.isEmpty else {
                throw HubError.invalidField("reason", "a dossier needs a reason", hint: "Say what the inspection is, e.g. --reason \"第二轮巡察\"")
            }
            try HubError.requireStorable(reason, field: "reason")
            try HubError.requireUnit(unit, in: policy)
            try checkAssignment(in: context, to: unit)
            let accessNow = try await access.readerAccess(in: context)
            let (kept, unreadable, visible) = try await readUnit(unit, accessNow)
            // Only what some set of approvers could grant goes into the request; the rest stays withheld.
            let unapprovable = policy.unapprovable(unreadable, forRequestBy: team.agency.id, at: now)
            let withheld = unreadable.filter { !unapprovable.contains($0.id) }
            // The summary depends on nothing the two writes below store, so it is worked out meanwhile, on the other core.
            async let summary = summary(of: visible, in: context)
            var request: AccessRequest?
            if !withheld.isEmpty {
                // One request for everything withheld (however many), for as long as the highest level involved allows.
                let highest = withheld.map(\.classification).max()!
                let cap = policy.levels[highest]?.approval?.maxGrant ?? Period(seconds: 86_400)
                request = try await sharing.createRequest(for: withheld, reason: "dossier of \(unit): \(reason)", duration: cap.description, in: context)
            }
            let dossier = Dossier(id: ids.next(at: now), unit: unit, agency: team.agency.id, requester: team.id, reason: reason, requestID: request?.id,
                                  itemIDs: kept.map(\.id), createdAt: now)
            try await store.insertDossier(dossier, audit: AuditRecord(time: now, actor: team.id, action: .createDossier, targets: [dossier.id] + (request.map { [$0.id] } ?? []),
                                                                      unit: unit, detail: ["items": String(kept.count), "withheld": String(withheld.count), "reason": reason]))
            return DossierView(dossier: dossier, items: visible, summary: try await summary, requestStatus: request?.status(at: now))
        }
    }

    /// The dossier for its team (and auditors), with each item's access now.
    public func dossier(id: String, in context: HubContext) async throws -> DossierView {
        try await context.traced(.getDossier, targets: [id]) {
            let view = try await currentView(id: id, in: context)
            try await recordRead(of: view, in: context)
            return view
        }
    }

    /// The dossier's manifest as `encode` writes it (thousands of items make megabytes). One larger than
    /// `DeliveredBody.wholeLimit` holds its share of the answer budget while it is sent, as a large payload does, and
    /// from before its items are read, at `manifestBytesPerItem` each until its size is known: what making it costs
    /// is bounded too. Refused (503 busy) before the read is recorded when the share does not fit.
    public func manifest(id: String, in context: HubContext, encode: (DossierView) throws -> [UInt8]) async throws -> DeliveredBody {
        try await context.traced(.getDossier, targets: [id]) {
            let dossier = try await visibleDossier(id: id, in: context)
            let (view, body) = try await answers.answer(entries: dossier.itemIDs.count, bytesPerEntry: Self.manifestBytesPerItem, for: context.principal.id) {
                try await currentView(of: dossier, in: context)
            } encode: { try encode($0) }
            try await recordRead(of: view, in: context)
            return body
        }
    }

    /// What a dossier's manifest is taken to weigh for each of its items until it is written: a readable item with a
    /// title of 30 characters weighs about 460 bytes (10,000 made 4.6 MB), a withheld one, shown as a stub, less.
    static let manifestBytesPerItem = 512

    private func currentView(id: String, in context: HubContext) async throws -> DossierView {
        try await currentView(of: try await visibleDossier(id: id, in: context), in: context)
    }

    private func currentView(of dossier: Dossier, in context: HubContext) async throws -> DossierView {
        let accessNow = try await access.readerAccess(in: context)
        // An item of the dossier the team can no longer read shows as the stub it was.
        var rest = dossier.itemIDs[...]
        let visible = try await shownPages {
            guard !rest.isEmpty else { return nil }
            defer { rest = rest.dropFirst(1000) }
            return try await items.items(ids: Array(rest.prefix(1000))).map { ($0, accessNow.of($0) == .read ? .read : .withheld) }
        }
        let summary = try await summary(of: visible, in: context)
        var status: AccessRequest.Status?
        if let id = dossier.requestID { status = try await requests.request(id: id)?.status(at: context.now) }
        return DossierView(dossier: dossier, items: visible, summary: summary, requestStatus: status)
    }

    private func recordRead(of view: DossierView, in context: HubContext) async throws {
        try await context.record(.getDossier, targets: [view.dossier.id], unit: view.dossier.unit,
                                 detail: ["readable": String(view.readableCount), "withheld": String(view.withheldCount)])
    }

    /// The dossier, if the viewer is of its team or an auditor; 404 otherwise.
    func visibleDossier(id: String, in context: HubContext) async throws -> Dossier {
        let viewer = context.principal
        guard let dossier = try await store.dossier(id: id), dossier.agency == viewer.agency.id || viewer.roles.contains(.auditor) else {
            throw HubError(.notFound, code: "not_found", message: "no dossier \(id) is visible to you", hint: "Check the id that `liaison dossier create` printed")
        }
        return dossier
    }

    /// Feedback items of `unit` the viewer may read, with whether and when rectification was reported.
    public func rectification(unit: String, in context: HubContext) async throws -> [DossierSummary.Feedback] {
        try await context.traced(.listRectification, unit: unit) {
            try HubError.requireUnit(unit, in: context.policy)
            let page = try await itemService.listPage(ListRequest(unit: unit, kind: "feedback", limit: limits.pageSize), in: context)
            let feedback = try await feedbackStatus(page.items.filter { !$0.isWithheld }.map(\.item), in: context)
            try await context.record(.listRectification, targets: feedback.map(\.itemID), unit: unit, detail: ["count": String(feedback.count)])
            return feedback
        }
    }

    func checkAssignment(in context: HubContext, to unit: String) throws {
        let (policy, team, now) = (context.policy, context.principal, context.now)
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

    /// The unit's items the team knows of (read or withheld, in listing order), the withheld ones, and how each is shown.
    func readUnit(_ unit: String, _ accessNow: ReaderAccess) async throws -> (kept: [Item], withheld: [Item], visible: [VisibleItem]) {
        var (kept, withheld): ([Item], [Item]) = ([], [])
        var query: ItemQuery? = ItemQuery(unit: unit, limit: 1000)
        let visible = try await shownPages {
            guard var current = query else { return nil }
            let batch = try await items.items(matching: current)
            current.before = batch.last?.id
            query = batch.count == current.limit ? current : nil
            var page: [(Item, AccessDecision.Access)] = []
            for item in batch {
                let access = accessNow.of(item)
                guard access != .hidden else { continue }
                page.append((item, access))
                kept.append(item)
                if access == .withheld { withheld.append(item) }
            }
            return page
        }
        return (kept, withheld, visible)
    }

    /// The items of the pages `nextPage` reads, as shown with the access each comes with: opened when readable, a
    /// stub otherwise. Each page is shown (its seals checked, its readable items opened) by a task of its own while
    /// the next page is read: reading and showing each take a third of building a dossier of 10,000 items.
    func shownPages(_ nextPage: () async throws -> [(Item, AccessDecision.Access)]?) async throws -> [VisibleItem] {
        // Taken before any row is read (see `ItemVault.withDataKey`).
        let cipher = vault.cipher
        return try await withThrowingTaskGroup(of: (page: Int, shown: [VisibleItem]).self) { group in
            var pages = 0
            while let page = try await nextPage() {
                group.addTask { [vault, pages] in (pages, page.map { vault.shown($0.0, as: $0.1, cipher) }) }
                pages += 1
            }
            var shown = Array(repeating: [VisibleItem](), count: pages)
            for try await (page, visible) in group { shown[page] = visible }
            return shown.flatMap { $0 }
        }
    }

    /// What the dossier's summary counts of the items as shown.
    func summary(of visible: [VisibleItem], in context: HubContext) async throws -> DossierSummary {
        let now = context.now
        // One pass over the items for what the summary counts (copies of 10,000 items cost more than the counting).
        var readable: [Item] = []
        var withheldIDs: Set<String> = []
        var byKind: [String: Int] = [:]
        var byLevel: [String: Int] = [:]
        for shown in visible {
            byKind[shown.item.kind, default: 0] += 1
            byLevel[shown.item.classification.rawValue, default: 0] += 1
            if shown.isWithheld { withheldIDs.insert(shown.item.id) } else if !shown.damaged { readable.append(shown.item) }
        }
        var persons: [String: [String]] = [:]
        var tags: [String: [String]] = [:]
        for item in readable {
            for person in Self.distinct(item.persons) { persons[person, default: []].append(item.id) }
            for tag in Self.distinct(item.tags) { tags[tag, default: []].append(item.id) }
        }
        let top = { (mentions: [String: [String]]) in
            mentions.sorted { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.key < $1.key }.prefix(10)
                .map { DossierSummary.Mention(name: $0.key, items: $0.value) }
        }
        // Per recurring person, who names them among the readable items, and how many withheld items name them too.
        let owners = Dictionary(readable.map { ($0.id, $0.owner) }, uniquingKeysWith: { first, _ in first })
        var recurring = top(persons)
        let marks = recurring.map { vault.marks(.person, [$0.name]).first }
        // One read for all of them: every item carrying any of their marks, with which.
        let marked = withheldIDs.isEmpty ? [:] : try await correlation.items(marked: marks.compactMap { $0 }, limit: Int(Int32.max))
        for index in recurring.indices {
            recurring[index].agencies = Set(recurring[index].items.compactMap { owners[$0] }).sorted()
            guard let mark = marks[index] else { continue }
            recurring[index].withheld = marked.filter { withheldIDs.contains($0.key) && $0.value.contains(mark) }.count
        }
        var openLeads: [DossierSummary.OpenLead] = []
        for item in readable where item.kind == "lead" {
            let lead = try await leads.lead(itemID: item.id) ?? Lead.fresh(item)
            if lead.status != .closed { openLeads.append(.init(itemID: item.id, status: lead.status, ageDays: Int(now.timeIntervalSince(item.createdAt) / 86_400))) }
        }
        return DossierSummary(byKind: byKind, byLevel: byLevel, persons: recurring, tags: top(tags), openLeads: openLeads,
                              feedback: try await feedbackStatus(readable.filter { $0.kind == "feedback" }, in: context))
    }

    /// Each name once (most items name one person or tag: no set is built for those).
    static func distinct(_ names: [String]) -> [String] {
        names.count < 2 ? names : Array(Set(names))
    }

    /// For each feedback item, the first rectification the viewer can see that answers it.
    func feedbackStatus(_ feedback: [Item], in context: HubContext) async throws -> [DossierSummary.Feedback] {
        let (policy, viewer, now) = (context.policy, context.principal, context.now)
        let rectifications = try await items.rectifications(answering: feedback.map(\.id)).filter { policy.access(of: viewer, to: $0.subject, at: now) != .hidden }
        return feedback.map { item in
            let first = rectifications.first { $0.answers == item.id }
            return DossierSummary.Feedback(itemID: item.id, title: item.title, rectification: first?.id, rectifiedAt: first?.createdAt)
        }
    }
}
