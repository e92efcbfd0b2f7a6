import Foundation
import LiaisonHub
@testable import LiaisonServer
import Testing

/// `Expect: 100-continue`, which curl sends with every body over 1 MiB: the hub answers `100 Continue` when it reads the
/// body, on the routed path and the fast lane, and a request it refuses before reading gets its final answer at once,
/// with nothing uploaded. With the real curl, over mTLS (the answer is the transport's, whatever the store).
@Suite("Expect: 100-continue")
struct ExpectContinueTests {
    /// curl's verbose trace, with the transfer's figures after it; curl waits up to a minute for the interim answer,
    /// so a hub that never sends it shows as a missing line (and a slow test), not as a pass.
    static func curl(_ hub: RunningHub, _ arguments: [String]) async throws -> (trace: String, status: String, uploaded: String) {
        let result = try await MultipartPushTests.curl(hub, as: "stationed-transport", ["-v", "--expect100-timeout", "60", "-o", "/dev/null",
                                                                                        "-w", "%{http_code} %{size_upload}"] + arguments)
        let figures = result.stdout.split(separator: " ").map(String.init)
        return (result.stderr, figures.first ?? "", figures.last ?? "")
    }

    /// The interim answers and the final one, in the order curl got them.
    static func answers(in trace: String) -> [String] {
        trace.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("< HTTP/") }.map { String($0.dropFirst(2)).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    @Test func theHubSaysContinueWhenItReadsTheBodyOfAStreamedAFormAndAJSONPush() async throws {
        try await TestHub.with { hub in
            let folder = try Paths.temporaryDirectory("expect-continue")
            let payload = StreamedPayloadTests.payload(3 << 20, seed: 5)
            try Data(payload).write(to: URL(fileURLWithPath: folder + "/scan.pdf"))
            let fields = [("Content-Type", "application/octet-stream"), ("Liaison-Kind", "report"), ("Liaison-Title", "scan"), ("Liaison-Unit", "transport-bureau")]
            let headers = fields.flatMap { ["-H", "\($0.0): \($0.1)"] }

            // A streamed push: curl asks on its own (the body is over 1 MiB).
            var sent = try await Self.curl(hub, headers + ["-H", "Liaison-Classification: confidential", "-X", "POST", "-T", folder + "/scan.pdf", hub.baseURL + "/v1/items"])
            #expect(sent.trace.contains("> Expect: 100-continue"))
            #expect(Self.answers(in: sent.trace) == ["HTTP/1.1 100 Continue", "HTTP/1.1 201 Created"], "\(sent.trace)")
            #expect(sent.status == "201" && sent.uploaded == String(payload.count))

            // A form, as curl -F sends it.
            sent = try await Self.curl(hub, ["-F", #"item={"kind":"report","title":"form","unit":"transport-bureau","classification":"general"}"#,
                                             "-F", "payload=@\(folder)/scan.pdf", hub.baseURL + "/v1/items"])
            #expect(Self.answers(in: sent.trace) == ["HTTP/1.1 100 Continue", "HTTP/1.1 201 Created"], "\(sent.trace)")

            // A small JSON push whose client asks anyway: the fast lane takes it, and says continue too.
            let json = #"{"kind":"report","title":"json","unit":"transport-bureau","classification":"general","content_type":"text/plain","payload":"cGF5bG9hZA=="}"#
            sent = try await Self.curl(hub, ["-H", "Content-Type: application/json", "-H", "Expect: 100-continue", "--data-binary", json, hub.baseURL + "/v1/items"])
            #expect(Self.answers(in: sent.trace) == ["HTTP/1.1 100 Continue", "HTTP/1.1 201 Created"], "\(sent.trace)")

            // One the lane takes, then hands to the routed path (its JSON is not one the lane reads): told to continue once.
            sent = try await Self.curl(hub, ["-H", "Content-Type: application/json", "-H", "Expect: 100-continue", "--data-binary", "{", hub.baseURL + "/v1/items"])
            #expect(Self.answers(in: sent.trace) == ["HTTP/1.1 100 Continue", "HTTP/1.1 400 Bad Request"], "\(sent.trace)")

            // Three items, each readable.
            let listed = try await hub.client("stationed-transport").send(.GET, "/v1/items?limit=10")
            #expect((listed.json["items"] as? [[String: Any]])?.compactMap { $0["title"] as? String }.sorted() == ["form", "json", "scan"])
        }
    }

    @Test func aPushRefusedOnItsHeadersIsAnsweredAtOnceAndItsBodyNeverSent() async throws {
        var limits = HubLimits()
        limits.streamedPayloadBytes = 2 << 20
        try await TestHub.with(limits: limits) { hub in
            let folder = try Paths.temporaryDirectory("expect-refused")
            // Over 1 MiB, so that curl asks; the second over the hub's limit.
            try Data(StreamedPayloadTests.payload(3 << 19)).write(to: URL(fileURLWithPath: folder + "/scan.pdf"))
            try Data(StreamedPayloadTests.payload(3 << 20)).write(to: URL(fileURLWithPath: folder + "/large.pdf"))
            let fields = ["-H", "Content-Type: application/octet-stream", "-H", "Liaison-Kind: report", "-H", "Liaison-Title: scan", "-H", "Liaison-Unit: transport-bureau"]
            // An unknown level (the handler refuses it before reading), and a declared length over the limit (the body limit does).
            for (classification, file, status) in [("secret", "scan.pdf", "400"), ("general", "large.pdf", "413")] {
                let sent = try await Self.curl(hub, fields + ["-H", "Liaison-Classification: \(classification)", "-X", "POST", "-T", folder + "/" + file, hub.baseURL + "/v1/items"])
                #expect(sent.status == status && sent.uploaded == "0", "\(sent.status) \(sent.uploaded) \(sent.trace)")
                #expect(Self.answers(in: sent.trace).count == 1, "no 100 Continue: \(sent.trace)")
                // The client may never send the body: the connection is not kept to be read past it.
                #expect(sent.trace.lowercased().contains("< connection: close"), "\(sent.trace)")
            }
            #expect(try await hub.texts("SELECT CAST(count(*) AS TEXT) FROM item") == ["0"])
            // And the hub takes the next push as usual.
            let next = try await hub.client("stationed-transport").pushStreamed(StreamedPayloadTests.payload(1 << 20), unit: "transport-bureau", classification: "general")
            #expect(next.status == 201)
        }
    }
}
