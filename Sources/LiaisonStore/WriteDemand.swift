import Synchronization

/// What a group commit's batch waits for before it starts: as many writes as the hub was lately answering requests at
/// once, for no longer than half a commit's time lately.
///
/// Under a steady load of clients that each wait for their answer, batches settle into two halves taking turns: one
/// half commits while the other is being read and checked, so each commit (an fsync on SQLite; a round trip, the
/// batch's procedure and a WAL flush on PostgreSQL) serves half the clients. A batch that waits until it holds as many
/// writes as there lately were requests in hand serves more of them per commit. It waits at most half a commit's
/// time, within `waits`: long enough for the other half to come back, short enough that a request that never writes,
/// or a client that went away, costs a batch little. A lone request has no one to wait for.
///
/// Measured in pairs on one machine: two hubs on one PostgreSQL database went from 3.9 to 6.6-6.9 writes per batch,
/// with 5-20% less hub CPU and 10-35% less database CPU per push; on SQLite, batches grew from 4.5 to 7.5 at the
/// same CPU per request. A wait as long as a whole commit cost SQLite's pushes 10-15% of their rate (the cores idle
/// while everyone waits on one fsync), and a wait for only the requests already in hand did not change the
/// halves at all (the other half is still on its way back from its client then).
///
/// The hub's fast lane counts the requests it answers (`began`, `ended`); the committers tell their commit times.
public final class WriteDemand: Sendable {
    private struct State {
        var answering = 0
        /// The most requests answered at once since `since`.
        var mostAnswering = 0
        var since = ContinuousClock.now
        /// Commit times, smoothed: what a wait is measured against.
        var commitTime = Duration.zero
        var waits: ClosedRange<Duration>
    }
    private let state: Mutex<State>
    /// How far back the most requests answered at once count: a load that stopped is forgotten this soon.
    static let memory = Duration.milliseconds(100)

    /// The longest any batch waits, whatever `waits` says: a committer's timer need not handle more.
    static let longestWait = Duration.seconds(60)

    /// `waits` bounds a batch's wait (the default: up to 2 ms, and a commit on a slower disk is not waited for longer).
    public init(waits: ClosedRange<Duration> = .zero ... .milliseconds(2)) {
        state = Mutex(State(waits: Self.bounded(waits)))
    }

    /// How long a batch may wait: half a commit's time, within these bounds (and within a minute, `longestWait`). An
    /// upper bound of zero: batches never wait.
    public var waits: ClosedRange<Duration> {
        get { state.withLock { $0.waits } }
        set { state.withLock { $0.waits = Self.bounded(newValue) } }
    }

    private static func bounded(_ waits: ClosedRange<Duration>) -> ClosedRange<Duration> {
        let longest = longestWait
        return min(max(waits.lowerBound, .zero), longest) ... min(max(waits.upperBound, .zero), longest)
    }

    /// Requests being answered now.
    public var answering: Int { state.withLock { $0.answering } }

    /// The hub has read a request whole and is answering it, until `ended`.
    public func began() {
        state.withLock { state in
            state.answering += 1
            state.mostAnswering = max(state.mostAnswering, state.answering)
        }
    }

    public func ended() {
        state.withLock { $0.answering -= 1 }
    }

    /// A store's committer: a commit took `time`.
    public func committed(in time: Duration) {
        state.withLock { $0.commitTime = ($0.commitTime * 3 + time) / 4 }
    }

    /// A store's committer: what the next batch waits for, how many writes and for how long at most; nil when it
    /// waits for nothing.
    public func gathering() -> (writes: Int, within: Duration)? {
        let now = ContinuousClock.now
        return state.withLock { state in
            if now - state.since > Self.memory {
                state.since = now
                state.mostAnswering = state.answering
            }
            let within = min(max(state.commitTime / 2, state.waits.lowerBound), state.waits.upperBound)
            guard state.mostAnswering > 1, within > .zero else { return nil }
            return (state.mostAnswering, within)
        }
    }
}
