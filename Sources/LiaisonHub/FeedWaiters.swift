import LiaisonCore
import Synchronization

/// Long-polling feed requests, by principal. A waiting request is a suspended task holding a continuation,
/// not a thread; a push that gives a principal an event wakes that principal's waiters.
///
/// Only principals with a feed request open are counted (`watching`), so that a push wakes its readers by looking
/// at those principals, or at its readers when they are fewer: not by touching every reader the policy names.
final class FeedWaiters: Sendable {
    /// A principal with feed requests open: how many, and how often it was notified since the first of them opened.
    private struct Watch {
        var requests = 0
        var notified: UInt64 = 0
    }

    private struct State {
        var nextID: UInt64 = 0
        var watched: [String: Watch] = [:]
        /// Bumped by notifications for everyone; part of every principal's version.
        var everyone: UInt64 = 0
        var waiting: [String: [UInt64: CheckedContinuation<Void, Never>]] = [:]
        /// Set when the hub shuts down: nobody waits any more.
        var released = false

        /// Moves on with every notification of the principal, while it is watched.
        func version(of principal: String) -> UInt64 { (watched[principal]?.notified ?? 0) &+ everyone }

        /// Counts a notification of a watched principal and takes its waiters, to be resumed outside the lock.
        mutating func notify(_ principal: String, into woken: inout [CheckedContinuation<Void, Never>]) {
            guard watched[principal] != nil else { return }
            watched[principal]!.notified &+= 1
            if let waiters = waiting.removeValue(forKey: principal) { woken += waiters.values }
        }
    }

    private let state = Mutex(State())

    /// Runs `body` with the principal's version, read before `body` looks at the feed: a `wait` in `body` after that
    /// version returns at once if the principal was notified meanwhile, so an event that committed between the
    /// look and the wait is not slept through.
    func watching<T>(_ principal: String, _ body: (_ version: UInt64) async throws -> T) async rethrows -> T {
        let version = state.withLock { state in
            state.watched[principal, default: Watch()].requests += 1
            return state.version(of: principal)
        }
        defer {
            state.withLock { state in
                state.watched[principal]?.requests -= 1
                if state.watched[principal]?.requests == 0 { state.watched[principal] = nil }
            }
        }
        return try await body(version)
    }

    /// Returns when the principal is notified after `version` (from `watching`, inside its body), when `timeout`
    /// passes, or when the task is cancelled.
    func wait(for principal: String, after version: UInt64, timeout: Duration) async {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.resume(principal, id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.released || state.version(of: principal) != version || Task.isCancelled { return true }
                    state.waiting[principal, default: [:]][id] = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            self.resume(principal, id)
        }
        timer.cancel()
    }

    /// Wakes every waiter of these principals.
    func notify(_ principals: some Sequence<String>) {
        resume(state.withLock { state in
            var woken: [CheckedContinuation<Void, Never>] = []
            for principal in principals { state.notify(principal, into: &woken) }
            return woken
        })
    }

    /// Wakes the waiters of an event's audience, going through whichever is fewer: the principals watched, or the
    /// audience's readers.
    func notify(_ audience: FeedAudience) {
        resume(state.withLock { state in
            var woken: [CheckedContinuation<Void, Never>] = []
            if state.watched.count < audience.readers.count {
                for principal in state.watched.keys.filter(audience.contains) { state.notify(principal, into: &woken) }
            } else {
                for principal in audience.readers where principal != audience.except { state.notify(principal, into: &woken) }
            }
            return woken
        })
    }

    /// Wakes every waiter, as when events may have committed for anyone.
    func notifyEveryone() {
        resume(state.withLock { state in
            state.everyone &+= 1
            defer { state.waiting = [:] }
            return state.waiting.values.flatMap(\.values)
        })
    }

    /// Wakes every waiter and makes later waits return at once, so that a shutdown is not held up by long-polls.
    func releaseAll() {
        resume(state.withLock { state in
            state.released = true
            defer { state.waiting = [:] }
            return state.waiting.values.flatMap(\.values)
        })
    }

    var waiterCount: Int { state.withLock { $0.waiting.values.reduce(0) { $0 + $1.count } } }

    /// How many principals have a feed request open.
    var watchedCount: Int { state.withLock { $0.watched.count } }

    private func resume(_ principal: String, _ id: UInt64) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            let continuation = state.waiting[principal]?.removeValue(forKey: id)
            if state.waiting[principal]?.isEmpty == true { state.waiting[principal] = nil }
            return continuation
        }
        continuation?.resume()
    }

    private func resume(_ woken: [CheckedContinuation<Void, Never>]) {
        for continuation in woken { continuation.resume() }
    }
}
