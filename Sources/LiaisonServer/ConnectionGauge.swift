import Synchronization

/// Counts open connections against the cap.
public final class ConnectionGauge: Sendable {
    let maximum: Int
    private let open = Atomic(0)

    public init(maximum: Int) { self.maximum = maximum }

    /// Counts a new connection if there is room; false (and nothing counted) if the cap is reached.
    func admit() -> Bool {
        var current = open.load(ordering: .relaxed)
        while current < maximum {
            let (exchanged, original) = open.compareExchange(expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func release() { open.subtract(1, ordering: .acquiringAndReleasing) }

    /// Connections open now.
    public var count: Int { open.load(ordering: .relaxed) }
}
