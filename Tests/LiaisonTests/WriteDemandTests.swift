import Foundation
import LiaisonCore
import LiaisonStore
import Synchronization
import Testing

/// A group commit's batch waits for as many writes as the hub was lately answering requests at once (`WriteDemand`),
/// no longer than its time, and not at all for a lone request or a load that has stopped. Each store's own committer
/// on real storage; its commit observer shows the batches.
@Suite("Write demand")
struct WriteDemandTests {
    let audit = AuditRecord(time: Date(timeIntervalSince1970: 1_800_000_000), actor: "office-3", action: "getItem", outcome: "ok")

    /// The sizes of a store's committed batches, in order.
    final class Batches: Sendable {
        private let sizes = Mutex<[Int]>([])
        var all: [Int] { sizes.withLock { $0 } }
        func add(_ writes: Int) { sizes.withLock { $0.append(writes) } }
    }

    /// Runs `body` with a fresh store whose batches wait exactly `wait` at most, and its batches.
    private func with(_ kind: StoreKind, waiting wait: Duration,
                      _ body: @Sendable (any HubStore, WriteDemand, Batches) async throws -> Void) async throws {
        try await kind.with { storage in
            let observable = try #require(storage.store as? any CommitObservable)
            let batches = Batches()
            observable.observeCommits { writes, _ in batches.add(writes) }
            observable.writeDemand.waits = wait ... wait
            try await body(storage.store, observable.writeDemand, batches)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aBatchWaitsUntilItHoldsAsManyWritesAsRequestsWereAnsweredAtOnce(_ kind: StoreKind) async throws {
        try await with(kind, waiting: .seconds(30)) { store, demand, batches in
            for _ in 0..<3 { demand.began() }  // three requests in hand
            let first = Task { try await store.record(audit) }
            try await Task.sleep(for: .milliseconds(300))
            #expect(batches.all.isEmpty, "the batch waits for the other two")
            async let second: Void = store.record(audit)
            async let third: Void = store.record(audit)
            _ = try await (first.value, second, third)
            #expect(batches.all == [3], "one batch held all three")
            for _ in 0..<3 { demand.ended() }
            #expect(demand.answering == 0)
            #expect(try await store.auditHead().seq == 3)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aBatchWaitsNoLongerThanItsTime(_ kind: StoreKind) async throws {
        try await with(kind, waiting: .seconds(1)) { store, demand, batches in
            demand.began()
            demand.began()  // a request that will never write (refused, or its client went away)
            let started = ContinuousClock.now
            try await store.record(audit)
            #expect(ContinuousClock.now - started >= .seconds(1))
            #expect(batches.all == [1])
            demand.ended()
            demand.ended()
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aLoneRequestAndALoadThatStoppedAreWaitedForByNoOne(_ kind: StoreKind) async throws {
        try await with(kind, waiting: .seconds(30)) { store, demand, batches in
            let started = ContinuousClock.now
            try await store.record(audit)  // no request counted at all (a write from the routed path, or the hub's own)
            demand.began()
            try await store.record(audit)  // one request in hand: its own write is all there is to wait for
            demand.ended()
            for _ in 0..<4 { demand.began() }
            for _ in 0..<4 { demand.ended() }
            try await Task.sleep(for: .milliseconds(250))  // longer than the demand's memory (100 ms)
            demand.began()
            try await store.record(audit)  // four at once, but no longer: one is in hand now
            demand.ended()
            #expect(ContinuousClock.now - started < .seconds(20), "no batch waited its time")
            #expect(batches.all == [1, 1, 1])
        }
    }

    /// A batch waits about half a commit's time, smoothed over the last commits, within the bounds; an upper bound of
    /// zero turns the waiting off.
    @Test func theWaitIsHalfACommitsTimeWithinItsBounds() throws {
        let demand = WriteDemand(waits: .zero ... .milliseconds(10))
        demand.began()
        demand.began()
        for _ in 0..<60 { demand.committed(in: .milliseconds(8)) }
        let gathering = try #require(demand.gathering())
        #expect(gathering.writes == 2)
        #expect(abs((gathering.within - .milliseconds(4)) / .microseconds(1)) < 1, "\(gathering.within)")
        demand.waits = .zero ... .milliseconds(2)
        #expect(demand.gathering()?.within == .milliseconds(2), "capped")
        demand.waits = .milliseconds(5) ... .milliseconds(6)
        #expect(demand.gathering()?.within == .milliseconds(5), "at least the lower bound")
        demand.waits = .seconds(1_000_000_000) ... .seconds(1_000_000_000)
        #expect(demand.waits == .seconds(60) ... .seconds(60), "no wait longer than a minute")
        #expect(demand.gathering()?.within == .seconds(60))
        demand.waits = .zero ... .zero
        #expect(demand.gathering() == nil, "off")
        demand.ended()
    }
}

/// Through a real hub: every request the fast lane answers is counted while it is answered and no longer, whether it
/// wrote or was refused; one counted for ever would make batches wait their whole time.
@Suite("Write demand of a hub")
struct HubWriteDemandTests {
    @Test func everyRequestTheLaneAnswersIsCountedUntilItsAnswer() async throws {
        try await TestHub.with { hub in
            let demand = try #require(hub.hub.writeDemand)
            let owner = try hub.client("stationed-finance")
            let pushed = try await owner.push(title: "需求", unit: "finance-bureau", classification: "confidential", payload: Data("载荷".utf8))
            #expect(pushed.status == 201, "\(pushed.text)")
            let id = try #require(pushed.json["id"] as? String)
            let refusedPush = try await owner.push(title: "没有的单位", unit: "no-such-unit", classification: "general")
            let reader = try hub.client("office-3")
            let outsider = try hub.client("stationed-transport")
            var statuses: [Int] = [refusedPush.status]
            for (client, path) in [(reader, "/v1/items/\(id)"), (reader, "/v1/items/\(id)/payload"), (reader, "/v1/items?limit=5"),
                                   (reader, "/v1/items/NOSUCHITEM"), (outsider, "/v1/items/\(id)"), (outsider, "/v1/items/\(id)/payload")] {
                statuses.append(try await client.get(path).status)
            }
            #expect(statuses == [400, 200, 403, 200, 404, 404, 404])
            #expect(demand.answering == 0)
        }
    }
}
