import Foundation
@testable import LiaisonPostgres
import Synchronization
import Testing

/// The one watch over a PostgreSQL store's requests for a connection: a request the pool does not grant is given up
/// after the deadline while nothing else completes, after `busyWaits` deadlines while other operations do, and never
/// once it was answered. (The pool losing a request cannot be made to happen; this is the part that answers then.)
@Suite("Connection waits")
struct ConnectionWaitsTests {
    /// When each wait was given up, by name.
    final class GivenUp: Sendable {
        private let times = Mutex<[String: ContinuousClock.Instant]>([:])
        func note(_ name: String) { times.withLock { $0[name] = .now } }
        func at(_ name: String) -> ContinuousClock.Instant? { times.withLock { $0[name] } }

        func waitFor(_ name: String, upTo limit: Duration) async throws -> ContinuousClock.Instant? {
            let end = ContinuousClock.now + limit
            while ContinuousClock.now < end {
                if let time = at(name) { return time }
                try await Task.sleep(for: .milliseconds(20))
            }
            return at(name)
        }
    }

    @Test func aWaitIsGivenUpAfterTheDeadlineWhenNothingCompletesAndNeverOnceAnswered() async throws {
        let waits = ConnectionWaits(), progress = PostgresStore.Progress(), givenUp = GivenUp()
        let deadline = Duration.milliseconds(300)
        let watch = Task { await waits.watch(deadline: deadline, busyWaits: 3, progress: progress) }
        defer { watch.cancel() }
        let asked = ContinuousClock.now
        _ = waits.add { givenUp.note("idle") }
        let answered = waits.add { givenUp.note("answered") }
        waits.remove(answered)
        let time = try #require(try await givenUp.waitFor("idle", upTo: .seconds(10)), "not given up within 10 s")
        #expect(time - asked >= deadline)
        try await Task.sleep(for: deadline)
        #expect(givenUp.at("answered") == nil)
    }

    @Test func whileOtherOperationsCompleteAWaitLastsBusyWaitsDeadlines() async throws {
        let waits = ConnectionWaits(), progress = PostgresStore.Progress(), givenUp = GivenUp()
        // Two seconds: with the fuzz run and ten suites on the two cores, the thread below once went a whole second unscheduled.
        let deadline = Duration.seconds(2)
        let watch = Task { await waits.watch(deadline: deadline, busyWaits: 3, progress: progress) }
        // The operations complete on a thread of their own: a task of the concurrency pool could wait longer than the
        // deadline for its turn while the rest of the suite runs, and the store would then rightly look idle.
        let stopped = Mutex(false)
        let busy = Thread {
            while !stopped.withLock({ $0 }) {
                progress.note()
                usleep(10_000)
            }
        }
        busy.start()
        defer { watch.cancel(); stopped.withLock { $0 = true } }
        let asked = ContinuousClock.now
        _ = waits.add { givenUp.note("busy") }
        try await Task.sleep(for: deadline * 1.5)
        #expect(givenUp.at("busy") == nil, "given up after one deadline though operations were completing")
        let time = try #require(try await givenUp.waitFor("busy", upTo: .seconds(15)), "not given up within 15 s")
        #expect(time - asked >= deadline * 3)
    }
}
