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
