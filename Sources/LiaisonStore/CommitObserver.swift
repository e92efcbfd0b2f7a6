import Synchronization

/// Who is told of each commit (the hub's metrics), set once after the store opens and read at every commit.
///
/// The closure is kept in a struct because a bare closure kept in a `Mutex` is reabstracted on its way into the
/// lock's generic `inout` and back at every `withLock`, and the value written back is the wrapped one: each commit
/// would call through one more pair of thunks than the last: with metrics on, half the hub's CPU went to them after
/// 35,000 commits, and the writer's stack overflowed (the hub died) after about 100,000. A struct's field keeps the
/// closure's own representation.
public final class CommitObserver: Sendable {
    private struct Observe: Sendable {
        let call: @Sendable (_ writes: Int, _ duration: Duration) -> Void
    }
    private let observe = Mutex<Observe?>(nil)

    public init() {}

    public func set(_ call: @escaping @Sendable (_ writes: Int, _ duration: Duration) -> Void) {
        observe.withLock { $0 = Observe(call: call) }
    }

    /// Tells the observer, if there is one, of a commit of `writes` writes that took `duration`.
    public func committed(writes: Int, duration: Duration) {
        observe.withLock { $0 }?.call(writes, duration)
    }
}
