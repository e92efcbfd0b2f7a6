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

    @Test func aRequestSeesOnePolicyFromStartToEndWhateverIsReloadedMeanwhile() async throws {
        let folder = try Self.policyCopy()
        try Self.addUnit("water-bureau", to: folder)
        try await TestHub.with { hub in
            let office = try hub.hub.principal(commonName: "office-3")
            let push = PushRequest(kind: "report", title: "t", unit: "water-bureau", classification: "general", contentType: "text/plain", payload: Array("x".utf8))
            try await hub.hub.withPolicySnapshot {
                #expect(hub.hub.policy.units["water-bureau"] == nil)
                // A reload lands in the middle of the request: the request keeps the policy it started with.
                _ = try await hub.hub.reloadPolicy(from: folder)
                #expect(hub.hub.policy.units["water-bureau"] == nil)
                await #expect(throws: HubError.self) { _ = try await hub.hub.push(push, by: office) }
            }
            // The next request sees the new policy.
            try await hub.hub.withPolicySnapshot {
                #expect(hub.hub.policy.units["water-bureau"] != nil)
                let receipt = try await hub.hub.push(push, by: office)
                #expect(receipt.item.item.unit == "water-bureau")
            }
            // And over the wire, a reload between two requests is seen by the second one.
            #expect(try await hub.client("office-3").push(unit: "water-bureau", classification: "general").status == 201)
        }
    }
}
