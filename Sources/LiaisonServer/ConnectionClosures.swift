import NIOCore
import Synchronization

/// Ends a request's work when its client goes away. Hummingbird lets a handler run on after the client closed its
/// side (it allows half-closed connections); for a long-poll that is up to a minute of a suspended request, and a
/// push then wakes it to read a page of the feed that nobody will receive (with hundreds of readers gone, seconds
/// of CPU). A request runs its work here; `ConnectionDeadlines`, which sees the connection's input close, cancels it.
///
/// Entries live only while a request runs (HTTP/1.1 runs a connection's requests one after another).
final class ConnectionClosures: Sendable {
    static let shared = ConnectionClosures()

    private let running = Mutex<[ObjectIdentifier: @Sendable () -> Void]>([:])

    /// Runs `work` as a task that the close of `channel`'s input cancels, as does the cancellation of the caller.
    func untilClosed<T: Sendable>(_ channel: any Channel, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await work() }
        let key = ObjectIdentifier(channel)
        running.withLock { $0[key] = { task.cancel() } }
        defer { running.withLock { _ = $0.removeValue(forKey: key) } }
        return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }

    /// The client closed its side of `channel`, or the connection ended: the request running on it is given up.
    func closed(_ channel: any Channel) {
        let cancel = running.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
        cancel?()
    }
}

/// The connection of a feed read, for `ConnectionClosures` (set by `IdentityMiddleware` for that path only).
enum RequestConnection {
    @TaskLocal static var channel: (any Channel)?
    static let feedPath = "/v1/feed"
}
