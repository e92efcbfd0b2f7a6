import Foundation
import Hummingbird
import NIOCore
import Testing
@testable import LiaisonServer

@Suite("Answers leave in one write")
struct WholeResponseTests {
    /// Collects what a body writes, in order, as the server's writer would receive it.
    final class Recorder: ResponseBodyWriter, @unchecked Sendable {
        var chunks: [[UInt8]] = []
        var finished = false
        var trailers: HTTPFields?
        func write(_ buffer: ByteBuffer) async throws { chunks.append(Array(buffer.readableBytesView)) }
        func finish(_ trailingHeaders: HTTPFields?) async throws {
            finished = true
            trailers = trailingHeaders
        }
    }

    static func streamed(_ parts: [String], trailers: HTTPFields? = nil) -> ResponseBody {
        let length = parts.reduce(0) { $0 + $1.utf8.count }
        return ResponseBody(contentLength: length) { writer in
            for part in parts { try await writer.write(ByteBuffer(string: part)) }
            try await writer.finish(trailers)
        }
    }

    static func written(_ body: ResponseBody) async throws -> Recorder {
        let recorder = Recorder()
        try await body.write(recorder)
        return recorder
    }

    @Test func aStreamedAnswerWithinTheLimitBecomesOneBufferWithTheSameBytes() async throws {
        let whole = try #require(try await WholeResponseMiddleware.whole(Self.streamed(["{\"id\":", "\"0123\"", "}"]), upTo: 1024))
        #expect(whole.contentLength == 13)
        let recorder = try await Self.written(whole)
        #expect(recorder.chunks == [Array("{\"id\":\"0123\"}".utf8)])
        #expect(recorder.finished)
        #expect(recorder.trailers == nil)
    }

    @Test func trailersAreStillSentAfterTheGatheredBody() async throws {
        let trailers: HTTPFields = [.init("Liaison-Check")!: "done"]
        let whole = try #require(try await WholeResponseMiddleware.whole(Self.streamed(["ab", "cd"], trailers: trailers), upTo: 1024))
        let recorder = try await Self.written(whole)
        #expect(recorder.chunks == [Array("abcd".utf8)])
        #expect(recorder.trailers == trailers)
    }

    @Test func anAnswerOverTheLimitOrOfUnknownLengthStreamsAsBefore() async throws {
        #expect(try await WholeResponseMiddleware.whole(Self.streamed(["12345", "678"]), upTo: 7) == nil)
        let unknown = ResponseBody(asyncSequence: AsyncStream<ByteBuffer> { $0.finish() })
        #expect(try await WholeResponseMiddleware.whole(unknown, upTo: 1024) == nil)
    }

    @Test func answersBelowAndAboveTheLimitArriveWhole() async throws {
        try await TestHub.with { hub in
            let client = try hub.client("stationed-finance")
            for size in [4096, 1_200_000] {  // one gathered, one streamed (over the 1 MiB limit)
                let payload = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 11) })
                let pushed = try await client.push(unit: "finance-bureau", classification: "general", payload: payload)
                let id = try #require(pushed.json["id"] as? String)
                let metadata = try await client.get("/v1/items/\(id)")
                #expect(metadata.status == 200)
                #expect(metadata.headers.first(name: "Content-Length") == String(metadata.body.count))
                #expect(metadata.json["id"] as? String == id)
                let (fetched, bytes) = try await client.payload(id)
                #expect(fetched.status == 200)
                #expect(fetched.headers.first(name: "Content-Length") == String(size))
                #expect(bytes == payload)
            }
        }
    }
}
