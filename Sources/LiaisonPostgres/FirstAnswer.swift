import Synchronization

/// Resumes one waiting caller with whichever answer comes first; later answers are dropped. For waits on PostgresNIO
/// that must stay bounded even if it never answers: a child task awaiting it would hold its task group, and so the
/// caller, until it did (1.33.2's pool, by all signs, lost a lease request across a database restart in CI).
final class FirstAnswer<T: Sendable>: Sendable {
    private let waiting = Mutex<CheckedContinuation<T, any Error>?>(nil)

    /// Waits for the first answer; `start` begins what will give one.
    func wait(_ start: (FirstAnswer<T>) -> Void) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            waiting.withLock { $0 = continuation }
            start(self)
        }
    }

    func answer(_ result: Result<T, any Error>) {
        waiting.withLock { $0.take() }?.resume(with: result)
    }
}

extension FirstAnswer where T == Bool {
    /// Runs `operation` in a task of its own and waits for it at most `timeout`: true once it finished (its error
    /// thrown), false if the time ran out first, the task then cancelled and left behind, not awaited.
    static func finishes(within timeout: Duration, _ operation: @escaping @Sendable () async throws -> Void) async throws -> Bool {
        try await FirstAnswer<Bool>().wait { first in
            let work = Task {
                try await operation()
                return true
            }
            let timer = Task {
                try? await Task.sleep(for: timeout)
                if Task.isCancelled { return }
                work.cancel()
                first.answer(.success(false))
            }
            Task {
                let result = await work.result
                timer.cancel()
                first.answer(result)
            }
        }
    }
}
