import Foundation
import HTTPTypes
import Testing
@testable import LiaisonServer

/// Metadata reads answered in front of Hummingbird (`FastLane`): which requests it takes, that its answers are the
/// routed path's, and that answers leave in request order whichever way each request goes.
@Suite("Fast lane")
struct FastLaneTests {
    static func head(_ path: String, method: HTTPRequest.Method = .get, _ fields: [(String, String)] = []) -> HTTPRequest {
        var request = HTTPRequest(method: method, scheme: nil, authority: "127.0.0.1", path: path)
        for (name, value) in fields { request.headerFields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return request
    }

    @Test func theLaneTakesOnlyPlainMetadataReads() {
        #expect(FastLane.itemID(of: Self.head("/v1/items/01M94R9EQE858DYH")) == "01M94R9EQE858DYH")
        #expect(FastLane.itemID(of: Self.head("/v1/items/a-b.c_d~e")) == "a-b.c_d~e")
        for accept in ["*/*", "application/json", "application/*"] {
            #expect(FastLane.itemID(of: Self.head("/v1/items/X1", [("Accept", accept)])) == "X1", "Accept: \(accept)")
        }
        // Each of these is left to the routed path, which reads it with the generated layer.
        let routed: [HTTPRequest] = [
            Self.head("/v1/items/X1", method: .patch), Self.head("/v1/items/X1", method: .head), Self.head("/v1/items/"), Self.head("/v1/items"),
            Self.head("/v1/items/X1/payload"), Self.head("/v1/items/X1?limit=1"), Self.head("/v1/items/X%201"), Self.head("/v1/items/X+1"),
            Self.head("/v1/items/%58"), Self.head("/v1/items/X1/"), Self.head("/v1/itemsX/X1"), Self.head("/v2/items/X1"),
            Self.head("/v1/items/X1", [("Accept", "application/json, text/plain")]), Self.head("/v1/items/X1", [("Accept", "text/plain")]),
            Self.head("/v1/items/X1", [("Accept", "application/json;q=0.9")]), Self.head("/v1/items/X1", [("Accept", "*/*"), ("Accept", "text/plain")]),
            Self.head("/v1/items/X1", [("Content-Length", "0")]), Self.head("/v1/items/X1", [("Transfer-Encoding", "chunked")]),
        ]
        for request in routed { #expect(FastLane.itemID(of: request) == nil, "\(request.method) \(request.path ?? "") \(request.headerFields)") }
    }

    /// The same read on one hub, once as the lane takes it and once as it goes routed (an Accept header the lane
    /// leaves alone): the same status, headers and body, and each audited.
    @Test func aReadOnTheLaneIsAnsweredAsTheRoutedPathAnswersIt() async throws {
        try await TestHub.with { hub in
            let owner = try hub.client("stationed-finance")
            let pushed = try await owner.push(title: "快车道", unit: "finance-bureau", classification: "general")
            let id = try #require(pushed.json["id"] as? String)
            let confidential = try #require(try await owner.push(title: "机密", unit: "finance-bureau", classification: "confidential").json["id"] as? String)
            let cases: [(who: String, id: String)] = [("stationed-finance", id), ("stationed-finance", "01NOSUCHITEM0000"), ("office-3", confidential), ("zhao.lei", id)]
            for (who, item) in cases {
                let client = try hub.client(who)
                let lane = try await client.send(.GET, "/v1/items/\(item)", headers: [("Accept", "application/json")])
                let routed = try await client.send(.GET, "/v1/items/\(item)", headers: [("Accept", "application/json, text/plain;q=0.5")])
                #expect(lane.status == routed.status, "\(who) \(item)")
                // An error's members come in no fixed order (Foundation's encoder): compared as JSON.
                if lane.status == 200 { #expect(lane.text == routed.text, "\(who) \(item)") }
                #expect(lane.json as NSDictionary == routed.json as NSDictionary, "\(who) \(item)")
                #expect(!lane.json.isEmpty)
                for name in ["Content-Type", "Content-Length", "Server"] {
                    #expect(lane.headers[name] == routed.headers[name], "\(name) for \(who) \(item)")
                }
                #expect(lane.headers.first(name: "Date").map { $0.hasSuffix(" GMT") && $0.count == 29 } == true, "\(lane.headers)")
            }
            // Every read is in the trail, twice (lane and routed), and the chain still verifies.
            let reads = try await hub.texts("SELECT actor || ' ' || outcome FROM audit WHERE action = 'getItem' ORDER BY seq")
            #expect(reads.count == 8, "\(reads)")
            #expect(stride(from: 0, to: reads.count, by: 2).allSatisfy { reads[$0] == reads[$0 + 1] }, "\(reads)")
            #expect(try await hub.verifyTrail().status == 0)
        }
    }

    /// Requests sent in one write, some for the lane and some routed: answered in the order sent, the last one too
    /// although the client closed its side straight after sending them.
    @Test func pipelinedRequestsAreAnsweredInOrderWhicheverWayEachGoes() async throws {
        try await TestHub.with { hub in
            let owner = try hub.client("stationed-finance")
            let id = try #require(try await owner.push(title: "顺序", unit: "finance-bureau", classification: "general").json["id"] as? String)
            let paths = ["/v1/items/\(id)", "/v1/whoami", "/v1/items/\(id)", "/v1/items/\(id)", "/v1/items/01NOSUCHITEM0000", "/v1/whoami",
                         "/v1/items/\(id)?unknown=1", "/v1/items/\(id)"]
            let requests = paths.map { "GET \($0) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" }.joined()
            let text = try await HalfClosingClient.send(requests, port: hub.port, certificate: hub.pki.certificate("stationed-finance"),
                                                        key: hub.pki.key("stationed-finance"), ca: hub.pki.ca, seconds: 30)
            let answers = try Self.answers(in: text)
            #expect(answers.map(\.status) == [200, 200, 200, 200, 404, 200, 200, 200], "\(text)")
            for (path, answer) in zip(paths, answers) where answer.status == 200 {
                if path.hasPrefix("/v1/items/") {
                    #expect(answer.body.contains("\"id\":\"\(id)\""), "\(path): \(answer.body)")
                } else {
                    #expect(answer.body.contains("stationed-finance") && !answer.body.contains("\"sha256\""), "\(path): \(answer.body)")
                }
            }
        }
    }

    /// The HTTP/1.1 answers in `text`, each with its declared length.
    static func answers(in text: String) throws -> [(status: Int, body: String)] {
        var rest = Substring(text)
        var answers: [(status: Int, body: String)] = []
        while !rest.isEmpty {
            let end = try #require(rest.range(of: "\r\n\r\n"), "an answer without the end of its head: \(rest)")
            let lines = rest[..<end.lowerBound].split(separator: "\r\n")
            let status = try #require(lines.first.flatMap { Int($0.split(separator: " ")[1]) })
            let length = lines.dropFirst().compactMap { line -> Int? in
                let parts = line.split(separator: ":", maxSplits: 1)
                return parts.count == 2 && parts[0].lowercased() == "content-length" ? Int(parts[1].trimmingCharacters(in: .whitespaces)) : nil
            }.first ?? 0
            let bodyStart = end.upperBound
            let bodyEnd = rest.utf8.index(bodyStart, offsetBy: length)
            answers.append((status, String(rest[bodyStart..<bodyEnd])))
            rest = rest[bodyEnd...]
        }
        return answers
    }
}
