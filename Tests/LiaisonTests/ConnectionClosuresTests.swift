import NIOCore
import NIOEmbedded
import Testing
@testable import LiaisonServer

/// A request's work given up when its client goes away (`ConnectionClosures`), on a NIO channel of its own.
@Suite("Connection closures")
struct ConnectionClosuresTests {
    struct Gone: Error {}

    /// Work that runs until it is cancelled, then fails as a cancelled database read does.
    @Sendable static func untilCancelled() async throws -> String {
        while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
        throw CancellationError()
    }

    /// A connected channel that any thread may ask whether it is still active, as the hub's work does from the
    /// concurrency pool (an `EmbeddedChannel` may only be used from the thread that made it).
    func connected() async throws -> NIOAsyncTestingChannel {
        let channel = NIOAsyncTestingChannel()
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
        return channel
    }

    @Test func theClientClosingItsSideCancelsTheWorkAndItsFailureBecomesTheGoneAnswer() async throws {
        let closures = ConnectionClosures()
        let channel = try await connected()
        async let answer = closures.untilClosed(channel, Self.untilCancelled) { "nothing new" }
        try await Task.sleep(for: .milliseconds(50))
        closures.closed(channel, ended: false)
        #expect(try await answer == "nothing new")
        // The connection is remembered as half-closed: the next request on it is given up at once.
        #expect(try await closures.untilClosed(channel, Self.untilCancelled) { "again" } == "again")
        // Once it ended, it is forgotten.
        closures.closed(channel, ended: true)
        _ = try? await channel.close().get()
    }

    @Test func workThatFailsWhileTheClientIsThereFailsAsItIs() async throws {
        let closures = ConnectionClosures()
        let channel = try await connected()
        await #expect(throws: Gone.self) {
            try await closures.untilClosed(channel, { @Sendable () async throws -> String in throw Gone() }) { "not this" }
        }
        #expect(try await closures.untilClosed(channel, { @Sendable in "done" }) { "not this" } == "done")
        _ = try? await channel.close().get()
    }
}
