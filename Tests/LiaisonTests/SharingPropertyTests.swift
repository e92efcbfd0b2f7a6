import Foundation
import LiaisonCore
import LiaisonCrypto
import LiaisonHub
import LiaisonStore
import Testing

/// Over random policies, items, requests, reviews, revocations and the passing of time, the hub never lets
/// a principal read an item that the policy plus its live grants do not allow, and every approved request
/// yields exactly the grant it should. The model below keeps its own ledger of reviews and grants and
/// decides thresholds itself; it shares with the hub only `Policy.access` and `Policy.holds`, the
/// relationship primitives tested in AccessDecisionTests.
@Suite("Sharing properties")
struct SharingPropertyTests {
    static let agencies = """
        agencies:
          - {id: commission, name: C, type: commission}
          - {id: office-a, name: A, type: office, leads: [group-a1, group-a2]}
          - {id: office-b, name: B, type: office, leads: [group-b1]}
          - {id: group-a1, name: A1, type: stationed-group, units: [unit-1]}
          - {id: group-a2, name: A2, type: stationed-group, units: [unit-2]}
          - {id: group-b1, name: B1, type: stationed-group, units: [unit-3]}
          - id: team-1
            name: T1
            type: inspection-team
            assignments: [{unit: unit-1, from: 2026-01-01, to: 2030-12-31}]
          - id: team-2
            name: T2
            type: inspection-team
            assignments: [{unit: unit-3, from: 2020-01-01, to: 2020-12-31}]
        units:
          - {id: unit-1, name: U1}
          - {id: unit-2, name: U2}
          - {id: unit-3, name: U3}
        kinds:
          - {id: report, name: R}
        """
    static let agencyIDs = ["commission", "office-a", "office-b", "group-a1", "group-a2", "group-b1", "team-1", "team-2"]
    static let units = ["unit-1", "unit-2", "unit-3"]

    /// A random but valid policy over the fixed agencies above.
    static func randomPolicy(_ rng: inout SplitMix) throws -> Policy {
        // Some approvers in every kind of place, so that requests can be decided; the rest at random.
        var people = "people:\n"
        let seats = ["commission", "commission", "office-a", "office-b", "group-a1", "group-b1"]
        for index in 0..<Int.random(in: 8...12, using: &rng) {
            var roles = index < seats.count || Bool.random(using: &rng) ? ["approver"] : []
            if Int.random(in: 0..<4, using: &rng) == 0 { roles.append("auditor") }
            let agency = index < seats.count ? seats[index] : agencyIDs.randomElement(using: &rng)!
            people += "  - {id: p\(index), name: P\(index), agency: \(agency), roles: [\(roles.joined(separator: ", "))]}\n"
        }
        let relationships = Relationship.allCases.filter { $0 != .anyPrincipal }.map(\.rawValue)
        var levels = "levels:\n"
        for level in Classification.allCases {
            let readable = relationships.filter { _ in Int.random(in: 0..<3, using: &rng) == 0 }
            let withheld = relationships.filter { _ in Bool.random(using: &rng) }
            let approvers = ["owner", "owner-office", "commission", "unit-stationed-group"].filter { _ in Bool.random(using: &rng) } + ["commission"]
            let commissionRequired = Bool.random(using: &rng)
            levels += """
                  \(level.rawValue):
                    readable_without_approval: [\(readable.joined(separator: ", "))]
                    withheld_stub_visible_to: [\(withheld.joined(separator: ", "))]
                    payload_at_rest: \(level == .confidential ? "encrypted" : "plain")
                    approval:
                      approvers: [\(Array(Set(approvers)).sorted().joined(separator: ", "))]
                      approvals_required: \([1, 1, 2, 2, 3].randomElement(using: &rng)!)
                      commission_approval_required: \(commissionRequired)
                      max_grant: \(Int.random(in: 5...20, using: &rng))d

                """
        }
        let requests = "requests:\n  lifetime: \(Int.random(in: 1...5, using: &rng))d\n"
        return try PolicyLoader.load(files: [("random.yaml", agencies + "\n" + people + levels + requests)])
    }

    /// The model's view of one request.
    struct ModelRequest {
        let request: AccessRequest
        var approvals: [String] = []
        var reviewers: Set<String> = []
        var decision: AccessRequest.Status = .pending
        var grant: Grant?
    }

    /// The model's own threshold rule: per item, distinct eligible approvals reach the level's count, and one of
    /// them comes from the commission if the level says so.
    static func satisfied(_ policy: Policy, _ request: AccessRequest, _ items: [Item], approvals: [String], at now: Date) -> Bool {
        items.allSatisfy { item in
            guard let rule = policy.levels[item.classification]?.approval else { return false }
            let eligible = Set(approvals).compactMap { policy.principal($0) }.filter { approver in
                approver.person != nil && approver.roles.contains(.approver) && approver.agency.id != request.agency
                    && rule.approvers.contains { policy.holds($0, reader: approver, item: item.subject, at: now) }
            }
            return eligible.count >= rule.required && (!rule.commissionRequired || eligible.contains { $0.agency.type == .commission })
        }
    }

    @Test(arguments: 1...12)
    func noPrincipalReadsBeyondPolicyAndLiveGrants(seed: UInt64) async throws {
        var rng = SplitMix(state: seed * 7919)
        let policy = try Self.randomPolicy(&rng)
        let clock = TestClock(DateWindow.dayForTests("2027-03-01"))
        let data = try Paths.temporaryDirectory("property")
        let store = try SQLiteStore(path: data + "/liaison.sqlite")
        let hub = Hub(policy: policy, store: store, keyRing: try KeyRing.generate(),
                      logger: TestHub.quietLogger, clock: clock.function)
        let principals = policy.principalIDs.compactMap { policy.principal($0) }
        var items: [Item] = []
        var model: [String: ModelRequest] = [:]
        var checks = 0
        var refusals: [String: Int] = [:]

        func liveGrant(_ agency: String, _ item: String) -> Bool {
            model.values.contains { $0.grant.map { $0.agency == agency && $0.itemIDs.contains(item) && $0.isLive(at: clock.now) } ?? false }
        }
        func expected(_ reader: Principal, _ item: Item) -> AccessDecision.Access {
            let access = policy.access(of: reader, to: item.subject, at: clock.now)
            return access != .read && liveGrant(reader.agency.id, item.id) ? .read : access
        }

        /// Every principal's view agrees with the model, and the grants are exactly those of approved requests.
        func check(_ step: Int) async throws {
            checks += 1
            // Every principal's listing shows exactly what the policy plus live grants allow.
            for reader in principals {
                let page = try await hub.items.list(ListRequest(limit: 1000), in: hub.context(for: reader))
                let seen = Dictionary(uniqueKeysWithValues: page.items.map { ($0.item.id, $0.access) })
                for item in items {
                    let want = expected(reader, item)
                    #expect(seen[item.id] == (want == .hidden ? nil : want), "seed \(seed) step \(step): \(reader.id) sees \(item.id) as \(String(describing: seen[item.id])), expected \(want)")
                }
            }
            // The single-item path (which checks grants one by one) agrees, payload included: for every item under
            // a grant of any status (active, expired, revoked), for its agency's principals, and for some random pairs.
            var pairs: [(Principal, Item)] = []
            for grant in model.values.compactMap(\.grant) {
                for reader in principals where reader.agency.id == grant.agency {
                    pairs += items.filter { grant.itemIDs.contains($0.id) }.map { (reader, $0) }
                }
            }
            for _ in 0..<10 where !items.isEmpty { pairs.append((principals.randomElement(using: &rng)!, items.randomElement(using: &rng)!)) }
            let certificate = try X509Certificate(file: TestPKI.shared.certificate("stationed-finance"))
            for (reader, item) in pairs {
                let delivered = try? await hub.items.payload(id: item.id, in: hub.context(for: reader), presenting: certificate)
                #expect((delivered != nil) == (expected(reader, item) == .read), "seed \(seed) step \(step): payload of \(item.id) to \(reader.id)")
            }
            // Exactly one grant per approved request, with exactly its items and expiry; none for anything else.
            let grants = try await store.grants(matching: GrantQuery(limit: 10_000))
            #expect(grants.count == model.values.filter { $0.decision == .approved }.count)
            for grant in grants {
                let entry = try #require(model[grant.requestID])
                #expect(entry.decision == .approved)
                #expect(grant.itemIDs == entry.request.itemIDs.sorted() && grant.agency == entry.request.agency)
                #expect(grant.expiresAt == entry.grant?.expiresAt && grant.revokedAt == entry.grant?.revokedAt)
            }
        }

        for step in 0..<90 {
            if step > 0 && step % 9 == 0 { try await check(step) }
            switch Int.random(in: 0..<11, using: &rng) {
            case 0...2:  // push
                let owner = try #require(policy.principal(Self.agencyIDs.randomElement(using: &rng)!))
                let level = Classification.allCases.randomElement(using: &rng)!
                let receipt = try await hub.items.push(PushRequest(kind: "report", title: "t\(step)", unit: Self.units.randomElement(using: &rng)!,
                                                                   classification: level.rawValue, contentType: "text/plain", payload: Array("p\(step)".utf8)),
                                                       in: hub.context(for: owner))
                items.append(receipt.item.item)
            case 3...5:  // request some items the requester sees withheld (or, now and then, one it may not ask for)
                guard !items.isEmpty else { continue }
                let requester = principals.randomElement(using: &rng)!
                // Mostly items the requester sees withheld, so that requests get made; sometimes any item.
                let withheld = items.filter { expected(requester, $0) == .withheld }
                let pool = withheld.isEmpty || Int.random(in: 0..<5, using: &rng) == 0 ? items : withheld
                let chosen = Array(Set((0..<Int.random(in: 1...3, using: &rng)).map { _ in pool.randomElement(using: &rng)! }.map(\.id)))
                let duration = "\(Int.random(in: 1...22, using: &rng))d"
                do {
                    let view = try await hub.sharing.createRequest(NewAccessRequest(items: chosen, reason: "r", duration: duration), in: hub.context(for: requester))
                    // Accepted only if every item was withheld to the requester and the duration fits the highest level's cap.
                    let asked = items.filter { chosen.contains($0.id) }
                    #expect(asked.allSatisfy { expected(requester, $0) == .withheld }, "seed \(seed) step \(step): request accepted for an item not withheld")
                    let cap = asked.map(\.classification).max().flatMap { policy.levels[$0]?.approval?.maxGrant }
                    #expect(cap.map { Period(duration)! <= $0 } ?? false, "seed \(seed) step \(step): duration over the cap accepted")
                    model[view.request.id] = ModelRequest(request: view.request)
                } catch let error as HubError {
                    #expect(error.kind == .invalid, "seed \(seed) step \(step): \(error)")
                    refusals[error.field ?? error.code, default: 0] += 1
                }
            case 6...8:  // review
                guard let id = model.keys.sorted().randomElement(using: &rng), var entry = model[id] else { continue }
                let requestItems = items.filter { entry.request.itemIDs.contains($0.id) }
                // Mostly someone the policy lets approve, so that requests get decided; sometimes anyone.
                let candidates = principals.filter { candidate in
                    requestItems.contains { policy.mayApprove(candidate, $0.subject, forRequestBy: entry.request.agency, at: clock.now) }
                }
                let reviewer = candidates.isEmpty || Int.random(in: 0..<3, using: &rng) == 0 ? principals.randomElement(using: &rng)! : candidates.randomElement(using: &rng)!
                let decision: Review.Decision = Int.random(in: 0..<6, using: &rng) == 0 ? .deny : .approve
                let now = clock.now
                let eligible = reviewer.person != nil && reviewer.roles.contains(.approver) && reviewer.id != entry.request.requester
                    && reviewer.agency.id != entry.request.agency
                    && requestItems.contains { item in policy.levels[item.classification]?.approval?.approvers.contains { policy.holds($0, reader: reviewer, item: item.subject, at: now) } ?? false }
                let open = entry.decision == .pending && now < entry.request.expiresAt
                do {
                    let view = try await hub.sharing.review(requestID: id, decision, comment: "c", in: hub.context(for: reviewer))
                    #expect(eligible && open && !entry.reviewers.contains(reviewer.id), "seed \(seed) step \(step): review by \(reviewer.id) accepted")
                    entry.reviewers.insert(reviewer.id)
                    if decision == .deny {
                        entry.decision = .denied
                    } else {
                        entry.approvals.append(reviewer.id)
                        if Self.satisfied(policy, entry.request, requestItems, approvals: entry.approvals, at: now) {
                            entry.decision = .approved
                            entry.grant = Grant(id: view.request.grantID ?? "?", requestID: id, agency: entry.request.agency, itemIDs: entry.request.itemIDs.sorted(),
                                                createdAt: now, expiresAt: now.addingTimeInterval(Double(entry.request.duration.seconds)))
                        }
                    }
                    #expect(view.status == entry.decision, "seed \(seed) step \(step): hub says \(view.status), model \(entry.decision)")
                    model[id] = entry
                } catch let error as HubError {
                    #expect(!(eligible && open && !entry.reviewers.contains(reviewer.id)), "seed \(seed) step \(step): eligible review refused: \(error)")
                    #expect([.forbidden, .conflict, .notFound].contains(error.kind))
                }
            case 9:  // revoke a live grant, if the revoker may
                guard let id = model.keys.sorted().randomElement(using: &rng), var entry = model[id], let grant = entry.grant else { continue }
                let revoker = principals.randomElement(using: &rng)!
                do {
                    _ = try await hub.sharing.revokeGrant(id: grant.id, in: hub.context(for: revoker))
                    #expect(revoker.roles.contains(.approver) && revoker.agency.id != grant.agency && grant.isLive(at: clock.now))
                    entry.grant = Grant(id: grant.id, requestID: id, agency: grant.agency, itemIDs: grant.itemIDs, createdAt: grant.createdAt, expiresAt: grant.expiresAt,
                                        revokedAt: clock.now, revokedBy: revoker.id)
                    model[id] = entry
                } catch is HubError {}
            default:  // time passes
                clock.advance(by: Double(Int.random(in: 1...72, using: &rng)) * 3600)
            }
        }
        try await check(90)
        #expect(checks == 10)
        let decided = model.values.map(\.decision)
        print("sharing property seed \(seed): \(items.count) items, \(model.count) requests, \(decided.filter { $0 == .approved }.count) approved, "
              + "\(decided.filter { $0 == .denied }.count) denied, \(model.values.filter { $0.grant?.revokedAt != nil }.count) revoked; refused requests \(refusals)")
    }
}
