import Synchronization

/// Bytes the hub holds at once for one purpose, across all requests: request bodies while they are decoded and
/// stored (`--body-budget`), large answers while they are sent (`--answer-budget`). What does not fit is refused
/// (503 busy, with Retry-After) instead of exhausting memory: a burst of large pushes from many agencies, or many
/// readers of large payloads who take their answers slowly or not at all.
public final class ByteBudget: Sendable {
    public let limit: Int
    private let inFlight = Mutex(0)

    public init(limit: Int) { self.limit = limit }

    /// Takes `bytes` from the budget if they fit; false if they do not (nothing is taken then).
    public func reserve(_ bytes: Int) -> Bool {
        inFlight.withLock { used in
            guard bytes >= 0, bytes <= limit - used else { return false }
            used += bytes
            return true
        }
    }

    public func release(_ bytes: Int) {
        inFlight.withLock { $0 -= bytes }
    }

    /// Bytes held now.
    public var held: Int { inFlight.withLock { $0 } }

    /// `bytes` taken for as long as the hold returned lives (whatever keeps it: an answer being sent); nil if they do
    /// not fit.
    public func hold(_ bytes: Int) -> Hold? {
        reserve(bytes) ? Hold(budget: self, bytes: bytes) : nil
    }

    /// Bytes taken from a budget, given back when the last reference to it goes.
    public final class Hold: Sendable {
        let budget: ByteBudget
        let bytes: Int

        init(budget: ByteBudget, bytes: Int) {
            self.budget = budget
            self.bytes = bytes
        }

        deinit { budget.release(bytes) }
    }
}
