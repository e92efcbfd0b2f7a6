import NIOCore
import Synchronization

/// Ends a request's work when its client goes away. Hummingbird lets a handler run on after the client closed its
/// side (it allows half-closed connections); for a long-poll that is up to a minute of a suspended request, and a
/// push then wakes it to read a page of the feed that nobody will receive (with hundreds of readers gone, seconds
/// of CPU). A request runs its work here; `ConnectionDeadlines`, which sees the connection's input close, cancels it.
///
/// Entries live only while a request runs (HTTP/1.1 runs a connection's requests one after another), and a
/// connection whose input closed is remembered until it ends, so that a request registered after that is given up too.
final class ConnectionClosures: Sendable {
    static let shared = ConnectionClosures()

    init() {}

    private struct State {
        var running: [ObjectIdentifier: @Sendable () -> Void] = [:]
        var inputClosed: Set<ObjectIdentifier> = []
    }
    private let state = Mutex(State())

    /// Runs `work` as a task that the close of `channel`'s input cancels, as does the cancellation of the caller. If
    /// `work` fails once the client is gone (a database read cancelled under it), the answer is `whenGone`'s instead:
    /// a client leaving is not a failure of the hub.
    func untilClosed<T: Sendable>(_ channel: any Channel, _ work: @escaping @Sendable () async throws -> T,
                                  whenGone: () async throws -> T) async throws -> T {
        let task = Task { try await work() }
        let key = ObjectIdentifier(channel)
        let gone = state.withLock { state -> Bool in
            state.running[key] = { task.cancel() }
            return state.inputClosed.contains(key)
        }
        if gone || !channel.isActive { task.cancel() }
        defer { state.withLock { _ = $0.running.removeValue(forKey: key) } }
        do {
            return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
        } catch {
            guard state.withLock({ $0.inputClosed.contains(key) }) || !channel.isActive else { throw error }
            return try await whenGone()
        }
    }

    /// The client closed its side of `channel` (it may still read an answer), or with `ended` the connection ended:
    /// the request running on it is given up, and while the connection lasts, any that starts later.
    func closed(_ channel: any Channel, ended: Bool) {
        let key = ObjectIdentifier(channel)
        let cancel = state.withLock { state in
            if ended { state.inputClosed.remove(key) } else { state.inputClosed.insert(key) }
            return state.running.removeValue(forKey: key)
        }
        cancel?()
    }
}

/// The connection of a routed request (set by `IdentityMiddleware`): a feed read's, for `ConnectionClosures`; a streamed
/// answer's, for its loop (`LoopPaced`).
enum RequestConnection {
    @TaskLocal static var channel: (any Channel)?
}
