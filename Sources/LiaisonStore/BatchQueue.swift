/// The queue of a group committer (SQLite's `GroupCommitter`, PostgreSQL's `PostgresGroupCommitter`): writes wait
/// here while a batch commits and go into the next one; the first writer to find no drain running starts one.
/// Before taking a batch, the drain may wait for the queue to fill up (`gather`, see `WriteDemand`).
public struct BatchQueue<Element> {
    /// What wakes a drain waiting for writes (called once, outside the queue's lock).
    public struct Waker: Sendable {
        public let wake: @Sendable () -> Void
        public init(_ wake: @escaping @Sendable () -> Void) { self.wake = wake }
    }
    private struct Gathering {
        let writes: Int
        let id: UInt64
        let waker: Waker
    }

    private var waiting: [Element] = []
    private var draining = false
    private var gathering: Gathering?
    private var gatherings: UInt64 = 0

    public init() {}

    /// Queues `element`. `startDrain`: the caller must start the drain (none was running); `wake`: the caller must wake
    /// the drain, which was waiting for this many writes.
    public mutating func add(_ element: Element) -> (startDrain: Bool, wake: Waker?) {
        waiting.append(element)
        if let gathered = gathering, waiting.count >= gathered.writes {
            gathering = nil
            return (false, gathered.waker)
        }
        guard !draining else { return (false, nil) }
        draining = true
        return (true, nil)
    }

    /// The drain begins to wait until `writes` writes are queued, to be woken by `waker`: the wait's id, or nil when
    /// they already are, or when none is (the drain ends then; the next write starts another).
    public mutating func gather(_ writes: Int, waker: Waker) -> UInt64? {
        guard !waiting.isEmpty, waiting.count < writes else { return nil }
        gatherings &+= 1
        gathering = Gathering(writes: writes, id: gatherings, waker: waker)
        return gatherings
    }

    /// The wait `id`'s time ran out: true if it was still on (it ends now), false if a write has woken it meanwhile.
    public mutating func stopGathering(_ id: UInt64) -> Bool {
        guard gathering?.id == id else { return false }
        gathering = nil
        return true
    }

    /// The next batch, at most `maximum` writes in arrival order; empty when none waits, which ends the drain.
    public mutating func next(maximum: Int) -> [Element] {
        let count = min(waiting.count, maximum)
        let batch = Array(waiting.prefix(count))
        waiting.removeFirst(count)
        if batch.isEmpty { draining = false }
        return batch
    }

    /// Puts writes back at the front, for the next batch (writes that lost a race and run again).
    public mutating func retry(_ elements: [Element]) {
        waiting.insert(contentsOf: elements, at: 0)
    }
}
