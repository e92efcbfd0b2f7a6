import Foundation
import LiaisonCore
import LiaisonCrypto
import LiaisonHub
import LiaisonStore
import Testing

/// Over random policies and items naming people from a small pool, correlation never shows a reader a title,
/// person or tag of an item it cannot read, never counts an item it could not even ask for, and lists exactly
/// the items the model says share a name. The model shares with the hub only `Policy.access` and
/// `Policy.eligibleApprovers`.
@Suite("Correlation properties")
struct CorrelationPropertyTests {
    static let pool = ["张三", "李四", "王五", "赵六"]

    @Test(arguments: 1...8)
    func correlationRevealsNothingBeyondTheReadersTier(seed: UInt64) async throws {
        var rng = SplitMix(state: seed * 104_729)
        let policy = try SharingPropertyTests.randomPolicy(&rng)
        let clock = TestClock(DateWindow.dayForTests("2027-03-01"))
        let store = try SQLiteStore(path: try Paths.temporaryDirectory("correlation-property") + "/liaison.sqlite")
        let hub = Hub(policy: policy, store: store, keyRing: try KeyRing.generate(), logger: TestHub.quietLogger, clock: clock.function)
        let principals = policy.principalIDs.compactMap { policy.principal($0) }
        var items: [(item: Item, persons: Set<String>)] = []
        for step in 0..<Int.random(in: 20...30, using: &rng) {
            let pusher = policy.principal(SharingPropertyTests.agencyIDs.randomElement(using: &rng)!)!
            let persons = Array(Set(Self.pool.filter { _ in Int.random(in: 0..<3, using: &rng) == 0 }))
            let level = Classification.allCases.randomElement(using: &rng)!
            let receipt = try await hub.items.push(PushRequest(kind: "report", title: "secret-title-\(step)", unit: SharingPropertyTests.units.randomElement(using: &rng)!,
                                                               classification: level.rawValue, contentType: "text/plain", payload: Array("p\(step)".utf8),
                                                               persons: persons.map { " " + $0 }, tags: ["secret-tag-\(step)"]),
                                                   in: hub.context(for: pusher))
            items.append((receipt.item.item, Set(persons)))
        }
        var checks = 0
        for reader in principals {
            let context = hub.context(for: reader)
            let access = { (item: Item) in policy.access(of: reader, to: item.subject, at: clock.now) }
            for (base, names) in items where access(base) == .read && !names.isEmpty {
                let related = try await hub.correlation.related(to: base.id, in: context)
                let sharing = items.filter { $0.item.id != base.id && !$0.persons.isDisjoint(with: names) }
                #expect(Set(related.readable.map(\.item.item.id)) == Set(sharing.filter { access($0.item) == .read }.map(\.item.id)), "seed \(seed), \(reader.id) on \(base.id)")
                #expect(Set(related.withheld.map(\.item.id)) == Set(sharing.filter { access($0.item) == .withheld }.map(\.item.id)))
                // Readable entries name only what both items name (the wire leaves a stub's title and names out: CorrelationEndToEndTests).
                for entry in related.readable {
                    let theirs = items.first { $0.item.id == entry.item.item.id }!.persons
                    #expect(Set(entry.persons.map(Correlation.normalised)) == names.intersection(theirs))
                    #expect(entry.tags.isEmpty, "no two items share a tag")
                }
                // Unseen items are counted per level, and only those some approver could grant this reader.
                var unseen: [Classification: Int] = [:]
                for other in sharing where access(other.item) == .hidden
                    && !policy.eligibleApprovers(for: other.item.subject, forRequestBy: reader.agency.id, at: clock.now).isEmpty {
                    unseen[other.item.classification, default: 0] += 1
                }
                #expect(related.unseen == unseen)
                checks += 1
            }
            for name in Self.pool {
                let found = try await hub.correlation.person(name, in: context)
                let naming = items.filter { $0.persons.contains(name) }
                #expect(Set(found.readable.map(\.item.id)) == Set(naming.filter { access($0.item) == .read }.map(\.item.id)))
                #expect(found.withheld == naming.filter { access($0.item) == .withheld }.count)
            }
        }
        #expect(checks > 0, "seed \(seed) checked no related answer")
    }
}
