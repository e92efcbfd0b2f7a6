import Synchronization

/// Long-polling feed requests, by principal. A waiting request is a suspended task holding a continuation,
/// not a thread; a push that gives a principal an event wakes that principal's waiters.
final class FeedWaiters: Sendable {
    private struct State {
        var nextID: UInt64 = 0
        /// Bumped by every notification, so a waiter that read the feed before an event committed still wakes.
        var versions: [String: UInt64] = [:]
        /// Bumped by notifications for everyone; part of every principal's version.
        var everyone: UInt64 = 0
        var waiting: [String: [UInt64: CheckedContinuation<Void, Never>]] = [:]
        /// Set when the hub shuts down: nobody waits any more.
        var released = false
    }

    private let state = Mutex(State())

    /// The principal's notification count, read before looking at the feed.
    func version(of principal: String) -> UInt64 {
        state.withLock { $0.versions[principal, default: 0] &+ $0.everyone }
    }

    /// Returns when the principal is notified after `version`, when `timeout` passes, or when the task is cancelled.
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
                    if state.released || state.versions[principal, default: 0] &+ state.everyone != version || Task.isCancelled { return true }
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
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            var woken: [CheckedContinuation<Void, Never>] = []
            for principal in principals {
                state.versions[principal, default: 0] &+= 1
                if let waiters = state.waiting.removeValue(forKey: principal) { woken += waiters.values }
            }
            return woken
        }
        for continuation in woken { continuation.resume() }
    }

    /// Wakes every waiter, as when events may have committed for anyone.
    func notifyEveryone() {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.everyone &+= 1
            defer { state.waiting = [:] }
            return state.waiting.values.flatMap(\.values)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Wakes every waiter and makes later waits return at once, so that a shutdown is not held up by long-polls.
    func releaseAll() {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.released = true
            defer { state.waiting = [:] }
            return state.waiting.values.flatMap(\.values)
        }
        for continuation in woken { continuation.resume() }
    }

    var waiterCount: Int { state.withLock { $0.waiting.values.reduce(0) { $0 + $1.count } } }

    private func resume(_ principal: String, _ id: UInt64) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            let continuation = state.waiting[principal]?.removeValue(forKey: id)
            if state.waiting[principal]?.isEmpty == true { state.waiting[principal] = nil }
            return continuation
        }
        continuation?.resume()
    }
}
