import Foundation
import LiaisonCore
import LiaisonHub
import LiaisonStore
import Testing

@Suite("Policy reload")
struct PolicyReloadTests {
    /// A copy of the example policy that a test may change.
    static func policyCopy() throws -> String {
        let folder = try Paths.temporaryDirectory("policy-copy")
        for file in try FileManager.default.contentsOfDirectory(atPath: Paths.policies) where file.hasSuffix(".yaml") {
            try FileManager.default.copyItem(atPath: Paths.policies + "/" + file, toPath: folder + "/" + file)
        }
        return folder
    }

    static func addUnit(_ id: String, to folder: String) throws {
        let path = folder + "/units.yaml"
        let units = try String(contentsOfFile: path, encoding: .utf8)
        try (units + "  - id: \(id)\n    name: 水务局\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test func aValidPolicyTakesEffectAndAnInvalidOneLeavesTheOldInForce() async throws {
        let folder = try Self.policyCopy()
        try await TestHub.with { hub in
            let client = try hub.client("office-3")
            #expect(try await client.push(unit: "water-bureau", classification: "general").status == 400)
            try Self.addUnit("water-bureau", to: folder)
            _ = try await hub.hub.reloadPolicy(from: folder)
            #expect(try await client.push(unit: "water-bureau", classification: "general").status == 201)

            try "agencies: [".write(toFile: folder + "/broken.yaml", atomically: true, encoding: .utf8)
            await #expect(throws: PolicyError.self) { _ = try await hub.hub.reloadPolicy(from: folder) }
            #expect(try await client.push(unit: "water-bureau", classification: "general").status == 201, "the valid policy stays in force")

            let reloads = try await hub.store.auditEntries(matching: AuditQuery(action: "reloadPolicy"))
            #expect(reloads.map(\.record.outcome) == ["ok", "refused"])
            #expect(reloads.last?.record.detail["code"] == "invalid_policy")
        }
    }

    /// The example policy with general items of a stationed group no longer readable by the office leading it,
    /// only shown to it as withheld stubs.
    static func officeLosesGeneralItems(in folder: String) throws {
        let path = folder + "/sharing.yaml"
        let sharing = try String(contentsOfFile: path, encoding: .utf8)
        let readers = "readable_without_approval: [owner, owner-office, owner-office-stationed-groups, assigned-inspection-team]\n    withheld_stub_visible_to: [commission, unit-stationed-group]"
        #expect(sharing.contains(readers))
        try sharing.replacingOccurrences(of: readers, with: "readable_without_approval: [owner, owner-office-stationed-groups, assigned-inspection-team]\n    withheld_stub_visible_to: [commission, owner-office, unit-stationed-group]")
            .write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test func aRequestSeesOnePolicyFromStartToEndWhateverIsReloadedMeanwhile() async throws {
        let folder = try Self.policyCopy()
        try Self.addUnit("water-bureau", to: folder)
        try await TestHub.with { hub in
            let office = try hub.hub.principal(commonName: "office-3")
            let push = PushRequest(kind: "report", title: "t", unit: "water-bureau", classification: "general", contentType: "text/plain", payload: Array("x".utf8))
            let before = hub.hub.context(for: office)
            // A reload lands in the middle of the request: the request keeps the policy it started with.
            _ = try await hub.hub.reloadPolicy(from: folder)
            #expect(before.policy.units["water-bureau"] == nil)
            await #expect(throws: HubError.self) { _ = try await hub.hub.items.push(push, in: before) }
            // The next request sees the new policy.
            let after = hub.hub.context(for: office)
            #expect(after.policy.units["water-bureau"] != nil)
            let receipt = try await hub.hub.items.push(push, in: after)
            #expect(receipt.item.item.unit == "water-bureau")
            // And over the wire, a reload between two requests is seen by the second one.
            #expect(try await hub.client("office-3").push(unit: "water-bureau", classification: "general").status == 201)
        }
    }

    @Test func listingsWhileThePolicyIsReloadedBackAndForthEachFollowOnePolicy() async throws {
        let original = try Self.policyCopy()
        let narrowed = try Self.policyCopy()
        try Self.officeLosesGeneralItems(in: narrowed)
        try await TestHub.with { hub in
            var pushed: Set<String> = []
            for _ in 0..<30 {
                pushed.insert(try #require(try await hub.client("stationed-transport").push(unit: "transport-bureau", classification: "general").json["id"] as? String))
            }
            let ids = pushed
            // Under one policy, the office reads all 30 (the original) or sees all 30 withheld (the narrowed one).
            let office = try hub.client("office-3")
            let reloads = Task {
                for round in 0..<40 {
                    _ = try await hub.hub.reloadPolicy(from: round % 2 == 0 ? narrowed : original)
                    try await Task.sleep(for: .milliseconds(3))
                }
            }
            var answers: Set<String> = []
            try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        var kinds: [String] = []
                        for _ in 0..<25 {
                            let page = try await office.get("/v1/items?unit=transport-bureau&limit=100")
                            #expect(page.status == 200)
                            let items = (page.json["items"] as? [[String: Any]] ?? []).filter { ids.contains($0["id"] as? String ?? "") }
                            #expect(items.count == 30)
                            let access = Set(items.map { $0["access"] as? String ?? "?" })
                            #expect(access.count == 1, "one listing mixed two policies: \(access)")
                            kinds.append(access.sorted().joined(separator: "+"))
                        }
                        return kinds
                    }
                }
                for try await kinds in group { answers.formUnion(kinds) }
            }
            try await reloads.value
            #expect(answers.isSubset(of: ["read", "withheld"]))
            // The last reload put the original back in force: a listing now reads them all.
            let last = try await office.get("/v1/items?unit=transport-bureau&limit=100")
            #expect(Set((last.json["items"] as? [[String: Any]] ?? []).filter { pushed.contains($0["id"] as? String ?? "") }.map { $0["access"] as? String }) == ["read"])
        }
    }
}
