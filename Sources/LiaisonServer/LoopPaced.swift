import NIOCore
import OpenAPIRuntime

/// An answer's pieces, each asked for only once the connection's event loop has handled the last. Hummingbird's
/// writer learns that the connection is full only on the loop, so a producer faster than the loop (a large payload
/// already in memory, cut into pieces) could queue the whole answer in the connection's buffer before it stopped:
/// memory the answer budget no longer counts once the pieces are all given, held for a reader who takes nothing.
struct LoopPaced<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element: Sendable {
    typealias Element = Base.Element
    let base: Base
    let loop: any EventLoop

    func makeAsyncIterator() -> Iterator { Iterator(base: base.makeAsyncIterator(), loop: loop) }

    struct Iterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let loop: any EventLoop
        var started = false

        mutating func next() async throws -> Element? {
            // The last piece's write has run on the loop by then, and with it any change of the connection's writability.
            if started { try await loop.submit {}.get() }
            started = true
            return try await base.next()
        }
    }
}

extension APIHandler {
    /// A streamed answer as the generated layer sends it, its pieces paced by the connection's loop (`LoopPaced`).
    static func streamedBody<Pieces: AsyncSequence & Sendable>(_ pieces: Pieces, length: Int? = nil) -> HTTPBody
    where Pieces.Element: Sequence & Sendable, Pieces.Element.Element == UInt8 {
        let length: HTTPBody.Length = length.map { .known(Int64($0)) } ?? .unknown
        guard let loop = RequestConnection.channel?.eventLoop else { return HTTPBody(pieces, length: length, iterationBehavior: .single) }
        return HTTPBody(LoopPaced(base: pieces, loop: loop), length: length, iterationBehavior: .single)
    }
}
