import Foundation
import LiaisonCore
import LiaisonCrypto
import LiaisonHub
import LiaisonPostgres
import LiaisonStore
import Testing

/// Several hubs on one PostgreSQL database sharing the key ring kept there under their master key: each opens
/// what the others sealed, a rotation on one reaches the others, and a retirement never strands a data key.
@Suite("Shared key ring")
struct SharedKeyRingTests {
    struct Instance {
        let hub: Hub
        let store: PostgresStore
    }

    func instance(_ database: PostgresAddress, master: MasterKey, grace: Duration = .zero, clock: TestClock = TestClock(Date())) async throws -> Instance {
        let store = try await PostgresStore(configuration: try database.testConfiguration(), logger: TestPostgres.quietLogger)
        let keys = try await KeyCustody.opening(DatabaseKeyRing(store: store, master: master), grace: grace, clock: clock.function)
        return Instance(hub: Hub(policy: TestHub.examplePolicy, store: store, keys: keys, logger: TestHub.quietLogger, clock: clock.function), store: store)
    }

    /// Two hubs on a fresh database under one master key, shut down after `body`.
    func withTwoHubs(grace: Duration = .zero, clock: TestClock = TestClock(Date()), _ body: (Instance, Instance) async throws -> Void) async throws {
        let database = try await TestPostgres.shared.freshDatabase()
        let master = try MasterKey(text: try MasterKey.generateText())
        let a = try await instance(database, master: master, grace: grace, clock: clock)
        let b = try await instance(database, master: master, grace: grace, clock: clock)
        do {
            try await body(a, b)
        } catch {
            await a.store.shutdown()
            await b.store.shutdown()
            throw error
        }
        await a.store.shutdown()
        await b.store.shutdown()
    }

    /// A confidential item pushed on `hub`; returns its id.
    func push(_ hub: Hub, _ title: String) async throws -> String {
        let owner = try hub.principal(commonName: "stationed-health")
        return try await hub.items.push(PushRequest(kind: "report", title: title, unit: "health-commission", classification: "confidential",
                                                    contentType: "text/plain", payload: Array(title.utf8)), in: hub.context(for: owner)).item.item.id
    }

    /// The item's title as `hub` opens it (the title is sealed under the item's data key).
    func title(_ hub: Hub, _ id: String) async throws -> String {
        let owner = try hub.principal(commonName: "stationed-health")
        return try await hub.items.item(id: id, in: hub.context(for: owner)).item.title
    }

    func rotate(_ hub: Hub) async throws -> KeyRingStatus {
        try await hub.keys.rotate(in: hub.context(for: try hub.principal(commonName: "sun.hao")))
    }

    @Test func hubsStartingAtOnceKeepOneRingAndOpenEachOthersItems() async throws {
        let database = try await TestPostgres.shared.freshDatabase()
        let master = try MasterKey(text: try MasterKey.generateText())
        async let first = instance(database, master: master)
        async let second = instance(database, master: master)
        let (a, b) = try await (first, second)
        let kept = try #require(try await a.store.keptKeyRing(after: nil))
        #expect(kept.generation == 1 && kept.versions == [1])
        let fromA = try await push(a.hub, "甲 hub")
        let fromB = try await push(b.hub, "乙 hub")
        #expect(try await title(b.hub, fromA) == "甲 hub")
        #expect(try await title(a.hub, fromB) == "乙 hub")
        // The database holds the ring only sealed; another master key opens nothing, and a hub given one says so.
        #expect(!String(decoding: kept.sealed, as: UTF8.self).contains("integrity_key"))
        let stranger = try MasterKey(text: try MasterKey.generateText())
        #expect(throws: CryptoError.authenticationFailed) { try stranger.open(kept.sealed) }
        let refused = await #expect(throws: CryptoError.self) { try await instance(database, master: stranger) }
        #expect("\(refused.map { "\($0)" } ?? "")".contains("every hub of one database needs the same master key"))
        // A version no ring can have (only an edit of the database puts one there) is a damaged row, refused, never trapped on.
        try await TestPostgres.shared.execute("UPDATE key_ring SET versions = '{1, 4294967298}' WHERE id = 1", in: database)
        await #expect(throws: StoreError.self) { try await a.store.keptKeyRing(after: nil) }
        await a.store.shutdown()
        await b.store.shutdown()
    }

    @Test func aRotationOnOneHubReachesTheOtherBeforeAnythingIsSealedUnderIt() async throws {
        // One clock moved by hand for both hubs: the grace ends when the test says, however slow the machine.
        let clock = TestClock(Date())
        try await withTwoHubs(grace: .seconds(10), clock: clock) { a, b in
            var ids: [String: String] = [:]
            for index in 0..<10 {
                ids[try await push(index % 2 == 0 ? a.hub : b.hub, "before \(index)")] = "before \(index)"
        }
        let rotated = try await rotate(b.hub)
        #expect(rotated.current == 2)
        // In its grace the new version seals nothing, on either hub, while A hears of it.
        #expect(b.hub.keys.ring.current == 1)
        try await a.hub.keys.refresh()
        #expect(a.hub.keys.ring.versionList.map(\.version) == [1, 2] && a.hub.keys.ring.current == 1)
        ids[try await push(a.hub, "in the grace")] = "in the grace"
        #expect(try await a.store.dataKeyCounts() == [1: 11])
        clock.advance(by: 11)
        #expect(a.hub.keys.ring.current == 2 && b.hub.keys.ring.current == 2)
        ids[try await push(a.hub, "after the grace")] = "after the grace"
        #expect(try await b.hub.keys.completeKeyRotation() == [1])
        #expect(try await a.store.dataKeyCounts() == [2: 12])
        #expect(try await a.store.keptKeyRing(after: nil)?.versions == [2])
        try await a.hub.keys.refresh()
        #expect(a.hub.keys.ring.versionList.map(\.version) == [2])
        for (id, expected) in ids {
            #expect(try await title(a.hub, id) == expected)
            #expect(try await title(b.hub, id) == expected)
        }
        }
    }

    @Test func aHubThatMissedARetirementSealsAgainUnderTheKeptRing() async throws {
        try await withTwoHubs { a, stale in
            let first = try await push(a.hub, "under version 1")
            _ = try await rotate(a.hub)
            #expect(try await a.hub.keys.completeKeyRotation() == [1])
            // The stale hub still seals under version 1, which the kept ring no longer holds: its push is sealed again.
            #expect(stale.hub.keys.ring.current == 1)
            let late = try await push(stale.hub, "from the stale hub")
            #expect(stale.hub.keys.ring.current == 2)
            #expect(try await a.store.dataKeyCounts() == [2: 2])
            #expect(try await title(a.hub, late) == "from the stale hub")
            #expect(try await title(stale.hub, first) == "under version 1")
        }
    }

    @Test func rotationsOnTwoHubsAtOnceMakeTwoVersionsAndRetiringAUsedVersionIsRefused() async throws {
        try await withTwoHubs { a, b in
            _ = try await push(a.hub, "under version 1")
            async let onA = rotate(a.hub)
            async let onB = rotate(b.hub)
            let currents = Set(try await [onA.current, onB.current])
            #expect(currents == [2, 3])
            let kept = try #require(try await a.store.keptKeyRing(after: nil))
            #expect(kept.generation == 3 && kept.versions == [1, 2, 3])
            // The store refuses a ring that drops a version a data key still uses, whoever asks.
            #expect(try await a.store.keepKeyRing(KeptKeyRing(generation: 4, versions: [2, 3], sealed: kept.sealed), over: 3) == false)
            #expect(try await a.store.keepKeyRing(KeptKeyRing(generation: 4, versions: [1, 2, 3], sealed: kept.sealed), over: 2) == false)
            #expect(try await a.store.keptKeyRing(after: nil) == kept)
            #expect(try await a.store.keptKeyRing(after: 3) == nil, "nothing newer than what a hub holds")
        }
    }
}
