/// The queue of a group committer (SQLite's `GroupCommitter`, PostgreSQL's `PostgresGroupCommitter`): writes wait
/// here while a batch commits and go into the next one; the first writer to find no drain running starts one.
public struct BatchQueue<Element> {
    private var waiting: [Element] = []
    private var draining = false

    public init() {}

    /// Queues `element`; true when the caller must start the drain (none was running).
    public mutating func add(_ element: Element) -> Bool {
        waiting.append(element)
        guard !draining else { return false }
        draining = true
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
