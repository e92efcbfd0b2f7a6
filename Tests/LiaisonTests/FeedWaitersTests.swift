@testable import LiaisonHub
import LiaisonCore
import Testing

/// The long-poll wake-ups on their own: a push wakes exactly its audience's waiting principals, whether it goes
/// through the principals watched or through its readers, and an event between a feed's look and its wait is not
/// slept through.
@Suite("Feed wake-ups")
struct FeedWaitersTests {
    /// Long enough that a wait ending sooner was ended by a notification (checked by the clock, with a wide margin:
    /// a broken wake-up fails the test after this, rather than hanging it).
    static let wait = Duration.seconds(60)

    /// Runs `body` and expects it to have been over well before `wait`: woken, not timed out.
    func woken(_ body: () async -> Void, sourceLocation: SourceLocation = #_sourceLocation) async {
        let clock = ContinuousClock(), start = clock.now
        await body()
        #expect(clock.now - start < Self.wait / 2, "woken by the notification, not by the end of the wait", sourceLocation: sourceLocation)
    }

    /// Parks a wait for `principal` inside its watch; returns once it is parked, with the task that ends when it wakes.
    func parked(_ waiters: FeedWaiters, _ principal: String) async throws -> Task<Void, Never> {
        let before = waiters.waiterCount
        let task = Task {
            await waiters.watching(principal) { version in
                await waiters.wait(for: principal, after: version, timeout: Self.wait)
            }
        }
        for _ in 0..<2_000 where waiters.waiterCount == before { try await Task.sleep(for: .milliseconds(1)) }
        try #require(waiters.waiterCount == before + 1)
        return task
    }

    @Test(arguments: [1, 40])
    func aPushWakesItsReadersWaitingButNotThePusherNorOthers(readerCount: Int) async throws {
        let waiters = FeedWaiters()
        // Readers "r00"... sorted, as the policy gives them; with 1 reader the watched principals outnumber the
        // audience (the push goes through its readers), with 40 the other way round.
        let readers = (0..<readerCount).map { String(format: "r%02d", $0) }
        let pusher = readers.last!
        let reader = try await parked(waiters, readers[0])
        let pushersOwn = readerCount > 1 ? try await parked(waiters, pusher) : nil
        let other = try await parked(waiters, "someone.else")
        let another = try await parked(waiters, "zz.last")
        let audience = FeedAudience(readers: readers, except: readerCount > 1 ? pusher : nil)

        await woken {
            waiters.notify(audience)
            await reader.value
        }
        #expect(waiters.waiterCount == (readerCount > 1 ? 3 : 2), "the pusher and the non-readers still wait")

        await woken {
            waiters.notify(["someone.else", "zz.last", "nobody.waiting"])
            await other.value
            await another.value
        }
        pushersOwn?.cancel()
        await pushersOwn?.value
        #expect(waiters.waiterCount == 0)
    }

    @Test func anEventBetweenTheLookAndTheWaitIsNotSleptThrough() async {
        let waiters = FeedWaiters()
        await woken {
            await waiters.watching("zhang.wei") { version in
                // The feed was read empty here; then a push for zhang.wei commits before the wait starts.
                waiters.notify(FeedAudience(readers: ["office-3", "zhang.wei"], except: "office-3"))
                await waiters.wait(for: "zhang.wei", after: version, timeout: Self.wait)
            }
        }
        await woken {
            await waiters.watching("zhang.wei") { version in
                waiters.notify(["zhang.wei"])
                await waiters.wait(for: "zhang.wei", after: version, timeout: Self.wait)
            }
        }
        #expect(waiters.waiterCount == 0)
    }

    @Test func anUnwatchedPrincipalCostsNothingAndStartsAfresh() async {
        let waiters = FeedWaiters()
        // Notifications of principals without an open feed request are not kept...
        waiters.notify(FeedAudience(readers: ["a", "b", "c"], except: nil))
        waiters.notify(["a"])
        // ...and a later request's own look still sees the next one.
        await woken {
            await waiters.watching("a") { version in
                waiters.notify(FeedAudience(readers: ["a"], except: nil))
                await waiters.wait(for: "a", after: version, timeout: Self.wait)
            }
        }
        // Two requests of one principal share its count; once both ended, it is gone.
        await woken {
            await waiters.watching("b") { outer in
                await waiters.watching("b") { inner in #expect(inner == outer) }
                waiters.notify(["b"])
                await waiters.wait(for: "b", after: outer, timeout: Self.wait)
            }
        }
        #expect(waiters.watchedCount == 0)
    }

    @Test func audienceMembershipIsTheSortedReadersButTheExcepted() {
        let audience = FeedAudience(readers: ["a", "b.x", "c", "d"], except: "c")
        #expect(["a", "b.x", "d"].allSatisfy(audience.contains))
        #expect(!["c", "b", "", "e", "0"].contains(where: audience.contains))
        #expect(audience.members == ["a", "b.x", "d"])
        #expect(FeedAudience(readers: ["c"], except: "c").isEmpty && FeedAudience.nobody.isEmpty)
        #expect(!FeedAudience(readers: ["c"], except: nil).isEmpty)
    }
}
