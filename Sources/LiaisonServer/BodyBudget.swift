import Synchronization

/// Bytes of request bodies the hub holds at once, across all requests. A body is admitted only while the
/// budget lasts, so a burst of large pushes from many agencies waits (503 with Retry-After) instead of
/// exhausting memory: each byte of a push's body costs a few more while it is decoded and stored.
final class BodyBudget: Sendable {
    let limit: Int
    private let inFlight = Mutex(0)

    init(limit: Int) { self.limit = limit }

    /// Takes `bytes` from the budget if they fit; false if they do not (nothing is taken then).
    func reserve(_ bytes: Int) -> Bool {
        inFlight.withLock { used in
            guard bytes >= 0, bytes <= limit - used else { return false }
            used += bytes
            return true
        }
    }

    func release(_ bytes: Int) {
        inFlight.withLock { $0 -= bytes }
    }

    /// Bytes held now.
    var held: Int { inFlight.withLock { $0 } }
}
