import Foundation
import LiaisonCrypto
import LiaisonHub
@testable import LiaisonServer
import Testing

/// Pushes sent as `multipart/form-data`, as `curl -F` sends a file: the form read as it streams (`MultipartReader`),
/// then the hub end to end, with the real curl, over mTLS (on SQLite, and on PostgreSQL in the suite's second pass).
@Suite("Multipart pushes")
struct MultipartPushTests {
    /// A source that gives `bytes` in the pieces `sizes` cuts (cycling through them).
    struct Pieces: AsyncIteratorProtocol {
        let bytes: [UInt8]
        let sizes: [Int]
        var offset = 0
        var turn = 0
        mutating func next() async throws -> ArraySlice<UInt8>? {
            guard offset < bytes.count else { return nil }
            let size = sizes[turn % sizes.count]
            turn += 1
            defer { offset = min(bytes.count, offset + size) }
            return bytes[offset..<min(bytes.count, offset + size)]
        }
    }

    /// Every part of the form `bytes` as (head, bytes), read from pieces of `sizes`.
    static func parts(of bytes: [UInt8], boundary: String, sizes: [Int]) async throws -> [(MultipartReader<Pieces>.Head, [UInt8])] {
        let form = MultipartReader(boundary: boundary, source: Pieces(bytes: bytes, sizes: sizes))
        var parts: [(MultipartReader<Pieces>.Head, [UInt8])] = []
        while let head = try await form.nextPart() {
            var body: [UInt8] = []
            while let piece = try await form.nextBytes() { body += piece }
            parts.append((head, body))
        }
        return parts
    }

    static func form(boundary: String, parts: [(headers: String, body: [UInt8])], preamble: String = "", epilogue: String = "") -> [UInt8] {
        var bytes = Array(preamble.utf8)
        for part in parts {
            bytes += Array("--\(boundary)\r\n\(part.headers)\r\n\r\n".utf8) + part.body + Array("\r\n".utf8)
        }
        return bytes + Array("--\(boundary)--\r\n\(epilogue)".utf8)
    }

    @Test func aFormReadsBackExactlyHoweverItsBytesAreCut() async throws {
        var generator = SplitMix(state: 41)
        let boundary = "------------------------d74496d66958873e"
        for round in 0..<40 {
            // A payload full of near-delimiters: CRLFs, "--", and the boundary cut short at every length.
            var payload: [UInt8] = []
            let near = Array("\r\n--\(boundary)".utf8)
            for _ in 0..<(Int(generator.next() % 60) + 1) {
                switch generator.next() % 4 {
                case 0: payload += near.prefix(Int(generator.next() % UInt64(near.count)))
                case 1: payload += Array("\r\n\r\n--".utf8)
                default: payload += (0..<Int(generator.next() % 300)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                }
            }
            if round == 0 { payload = [] }
            let item = Array(#"{"kind":"report","title":"扫描件 \#(round)"}"#.utf8)
            let bytes = Self.form(boundary: boundary, parts: [
                ("Content-Disposition: form-data; name=\"item\"\r\nContent-Type: application/json", item),
                ("Content-Disposition: form-data; name=\"payload\"; filename=\"scan;1.pdf\"\r\ncontent-type: application/pdf", payload),
            ], preamble: round % 3 == 0 ? "ignored preamble\r\n" : "", epilogue: round % 2 == 0 ? "ignored epilogue" : "")
            let sizes = (0..<5).map { _ in Int(generator.next() % 97) + 1 } + [bytes.count]
            let parts = try await Self.parts(of: bytes, boundary: boundary, sizes: round % 5 == 0 ? [1] : sizes)
            #expect(parts.count == 2, "round \(round)")
            #expect(parts.first?.0 == .init(name: "item", filename: nil, contentType: "application/json"))
            #expect(parts.first?.1 == item)
            #expect(parts.last?.0 == .init(name: "payload", filename: "scan;1.pdf", contentType: "application/pdf"), "round \(round)")
            #expect(parts.last?.1 == payload, "round \(round): \(payload.count) bytes")
        }
    }

    @Test func blanksAfterABoundaryAndAPartWithoutHeadersAreRead() async throws {
        let bytes = Array("--b  \t\r\nContent-Disposition: form-data; name=x\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--".utf8)
        let form = MultipartReader(boundary: "b", source: Pieces(bytes: bytes, sizes: [3]))
        #expect(try await form.nextPart() == .init(name: "x", filename: nil, contentType: nil))
        #expect(try await form.collect(upTo: 10, what: "x") == Array("one".utf8))
        // A part must say its name: one without headers is refused by name.
        await #expect { try await form.nextPart() } throws: { error in
            (error as? HubError)?.message == "the multipart/form-data body is malformed: a part has no Content-Disposition header"
        }
    }

    @Test(arguments: [
        ("no boundary at all", "the body holds no boundary '--b'"),
        ("--b\r\nContent-Disposition: form-data; name=\"item\"\r\n\r\ncut short", "the body ended before the form's closing boundary"),
        ("--b\r\nContent-Disposition: form-data; name=\"item\"", "the body ended before the form's closing boundary"),
        ("--bX\r\n\r\n", "a boundary line does not end with CRLF"),
        ("--b\r\nno colon here\r\n\r\nx\r\n--b--", "a part's header line has no colon: 'no colon here'"),
        ("--b\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--b--", "a part's Content-Disposition is not form-data with a name: 'attachment; name=\"a\"'"),
        ("--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--", "a part's Content-Disposition is not form-data with a name: 'form-data'"),
    ])
    func malformedFormsAreRefusedWithWhatIsWrong(body: String, problem: String) async throws {
        let form = MultipartReader(boundary: "b", source: Pieces(bytes: Array(body.utf8), sizes: [2, 5]))
        await #expect { while try await form.nextPart() != nil { _ = try await form.collect(upTo: 100, what: "a part") } } throws: { error in
            (error as? HubError)?.message == "the multipart/form-data body is malformed: \(problem)"
        }
    }

    @Test func headersAndCollectedPartsAreBounded() async throws {
        let longHead = "--b\r\nX-Filler: " + String(repeating: "a", count: 20_000) + "\r\n\r\n"
        let form = MultipartReader(boundary: "b", source: Pieces(bytes: Array(longHead.utf8), sizes: [4096]))
        await #expect { _ = try await form.nextPart() } throws: { error in
            (error as? HubError)?.message == "the multipart/form-data body is malformed: a part's headers are longer than 16384 bytes"
        }
        let preamble = Self.form(boundary: "b", parts: [], preamble: String(repeating: "p", count: 20_000))
        let third = MultipartReader(boundary: "b", source: Pieces(bytes: preamble, sizes: [1000]))
        await #expect { _ = try await third.nextPart() } throws: { error in
            (error as? HubError)?.message == "the multipart/form-data body is malformed: the first boundary '--b' is not within the body's first 16384 bytes"
        }
        let big = Self.form(boundary: "b", parts: [("Content-Disposition: form-data; name=\"item\"", [UInt8](repeating: 0x41, count: 101))])
        let second = MultipartReader(boundary: "b", source: Pieces(bytes: big, sizes: [7]))
        _ = try await second.nextPart()
        await #expect { _ = try await second.collect(upTo: 100, what: "the part 'item'") } throws: { error in
            (error as? HubError)?.message == "the multipart/form-data body is malformed: the part 'item' is longer than 100 bytes"
        }
    }

    @Test func contentDispositionParametersKeepQuotedSemicolonsAndEscapes() throws {
        let parameters = MultipartPush.Form.parameters(of: #"form-data; name="payload"; filename="a;b \"c\".pdf""#)
        #expect(parameters.map(\.name) == ["form-data", "name", "filename"])
        #expect(parameters.map(\.value) == [nil, "payload", #"a;b "c".pdf"#])
        #expect(try MultipartPush.boundary(of: "Multipart/Form-Data; boundary=\"abc def\"") == "abc def")
        #expect(try MultipartPush.boundary(of: "application/json") == nil)
        #expect(throws: HubError.self) { try MultipartPush.boundary(of: "multipart/form-data") }
        #expect(throws: HubError.self) { try MultipartPush.boundary(of: "multipart/form-data; boundary=" + String(repeating: "x", count: 71)) }
    }

    /// curl with the principal's certificate; its output and exit status.
    static func curl(_ hub: RunningHub, as principal: String, _ arguments: [String]) async throws -> ProcessResult {
        try await ProcessRunner.runAsync("/usr/bin/curl", ["-sS", "--cacert", hub.pki.ca, "--cert", hub.pki.certificate(principal), "--key", hub.pki.key(principal)]
            + arguments)
    }

    static func json(_ result: ProcessResult) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any] ?? [:]
    }

    @Test func curlPushesAFileWithItsFieldsAsJSONAndItReadsBackByteForByte() async throws {
        try await TestHub.with { hub in
            let folder = try Paths.temporaryDirectory("multipart")
            let payload = StreamedPayloadTests.payload(3 * (1 << 20) + 777, seed: 11)
            try Data(payload).write(to: URL(fileURLWithPath: folder + "/扫描件.pdf"))
            try Data(#"{"kind":"report","title":"扫描案卷, 第二卷","unit":"transport-bureau","classification":"general","persons":["张三"],"tags":["road"]}"#.utf8)
                .write(to: URL(fileURLWithPath: folder + "/item.json"))
            let pushed = try await Self.curl(hub, as: "stationed-transport", ["-w", "\n%{http_code}", "-F", "item=@\(folder)/item.json",
                                                                              "-F", "payload=@\(folder)/扫描件.pdf", hub.baseURL + "/v1/items"])
            let lines = pushed.stdout.split(separator: "\n")
            #expect(lines.last == "201", "\(pushed.stdout) \(pushed.stderr)")
            let item = (try? JSONSerialization.jsonObject(with: Data(lines.first.map { String($0) }?.utf8 ?? "".utf8))) as? [String: Any] ?? [:]
            let id = try #require(item["id"] as? String)
            #expect(item["title"] as? String == "扫描案卷, 第二卷")
            #expect(item["persons"] as? [String] == ["张三"])
            // curl names a .pdf file's type; the item takes it, as no content_type was given.
            #expect(item["content_type"] as? String == "application/pdf")
            #expect(item["size"] as? Int == payload.count)
            #expect(item["sha256"] as? String == Digest.sha256Hex(payload))
            #expect(try await hub.texts("SELECT CAST(count(*) AS TEXT) FROM payload_chunk WHERE item_id = '\(id)'") == ["4"])
            let (response, plaintext) = try await hub.client("office-3").payload(id)
            #expect(response.status == 200)
            #expect(StreamedPayloadTests.same(plaintext.map(Array.init), payload))
            #expect(try await hub.verifyTrail().status == 0)
        }
    }

    @Test func aConfidentialFormIsKeptSealedAndAnIdempotentRetryGetsTheFirstItem() async throws {
        try await TestHub.with { hub in
            let marker = Array("机密材料-表单上传".utf8)
            let payload = (0..<(2 << 20) / marker.count + 10).flatMap { _ in marker }
            let boundary = "liaison-test-boundary"
            let body = Self.form(boundary: boundary, parts: [
                ("Content-Disposition: form-data; name=\"item\"",
                 Array(#"{"kind":"report","title":"机密 表单","unit":"transport-bureau","classification":"confidential","content_type":"text/plain"}"#.utf8)),
                ("Content-Disposition: form-data; name=\"payload\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream", payload),
            ])
            let client = try hub.client("stationed-transport")
            let headers = [("Content-Type", "multipart/form-data; boundary=\(boundary)"), ("Idempotency-Key", "form-1")]
            let first = try await client.send(.POST, "/v1/items", body: Data(body), headers: headers)
            #expect(first.status == 201, "\(first.text)")
            let id = try #require(first.json["id"] as? String)
            #expect(first.json["content_type"] as? String == "text/plain", "the item's own field wins over the part's type")
            let again = try await client.send(.POST, "/v1/items", body: Data(body), headers: headers)
            #expect(again.status == 200, "\(again.text)")
            #expect(again.json["id"] as? String == id)
            #expect(try await hub.texts("SELECT CAST(count(*) AS TEXT) FROM item") == ["1"])
            #expect(try await hub.texts("SELECT CAST(count(*) AS TEXT) FROM payload_chunk") == ["3"], "the retry's chunks are gone")
            let everything = try await hub.databaseContents()
            #expect(everything.range(of: Data(marker)) == nil && everything.range(of: Data("机密 表单".utf8)) == nil)
            let (response, plaintext) = try await hub.client("stationed-transport").payload(id)
            #expect(response.isSealed)
            #expect(StreamedPayloadTests.same(plaintext.map(Array.init), payload))
        }
    }

    @Test(arguments: [
        ("payload first", [("payload", "", "x")], "invalid_multipart", "the multipart/form-data body is malformed: the first part is not 'item'"),
        ("no payload", [("item", "", #"{"kind":"report","title":"t","unit":"transport-bureau","classification":"general"}"#)], "invalid_multipart",
         "the multipart/form-data body is malformed: the part after 'item' is not 'payload' (the file)"),
        ("a part after the payload", [("item", "", #"{"kind":"report","title":"t","unit":"transport-bureau","classification":"general"}"#), ("payload", "", "x"),
                                      ("extra", "", "y")], "invalid_multipart", "the multipart/form-data body is malformed: a part 'extra' follows 'payload', which must be the last"),
        ("a field missing", [("item", "", #"{"kind":"report","unit":"transport-bureau","classification":"general"}"#), ("payload", "", "x")], "missing_field",
         "the field 'title' is missing"),
        ("an item part of another type", [("item", "Content-Type: image/png\r\n", "{}"), ("payload", "", "x")], "invalid_multipart",
         "the part 'item' is image/png; it holds the item's fields as JSON"),
        ("an item part too long", [("item", "", "{65 KiB of blanks}{}"), ("payload", "", "x")], "invalid_multipart",
         "the multipart/form-data body is malformed: the part 'item' is longer than 65536 bytes"),
        ("a unit not in the policy", [("item", "", #"{"kind":"report","title":"t","unit":"atlantis","classification":"general"}"#), ("payload", "", "x")],
         "invalid_field", nil),
    ] as [(String, [(String, String, String)], String, String?)])
    func aFormThatIsNotAPushIsRefusedWith400AndNothingStored(label: String, parts: [(String, String, String)], code: String, message: String?) async throws {
        try await TestHub.with { hub in
            // (The long part is made here: as an argument, the test log would print all of it.)
            let body = Self.form(boundary: "b0undary", parts: parts.map { part in
                ("\(part.1)Content-Disposition: form-data; name=\"\(part.0)\"",
                 Array(part.2.replacingOccurrences(of: "{65 KiB of blanks}", with: String(repeating: " ", count: 65 * 1024)).utf8))
            })
            let response = try await hub.client("stationed-transport").send(.POST, "/v1/items", body: Data(body),
                                                                             headers: [("Content-Type", "multipart/form-data; boundary=b0undary")])
            #expect(response.status == 400, "\(label): \(response.text)")
            #expect(response.errorCode == code, "\(label): \(response.text)")
            if let message { #expect(response.errorMessage == message, "\(label)") }
            #expect(try await hub.texts("SELECT CAST(count(*) AS TEXT) FROM item") == ["0"], "\(label)")
            #expect(try await hub.texts("SELECT CAST(count(*) AS TEXT) FROM payload_chunk") == ["0"], "\(label)")
        }
    }

    @Test func theFilesTypeWithoutItsParametersIsTheItemsWhenTheFieldsNameNone() async throws {
        try await TestHub.with { hub in
            let body = Self.form(boundary: "b", parts: [
                ("Content-Disposition: form-data; name=\"item\"\r\nContent-Type: application/octet-stream",
                 Array(#"{"kind":"report","title":"名单","unit":"transport-bureau","classification":"restricted"}"#.utf8)),
                ("Content-Disposition: form-data; name=\"payload\"; filename=\"名单.csv\"\r\nContent-Type: text/csv; charset=utf-8", Array("姓名,单位\r\n".utf8)),
            ])
            let pushed = try await hub.client("stationed-transport").send(.POST, "/v1/items", body: Data(body), headers: [("Content-Type", "multipart/form-data; boundary=b")])
            #expect(pushed.status == 201, "\(pushed.text)")
            #expect(pushed.json["content_type"] as? String == "text/csv")
            let id = try #require(pushed.json["id"] as? String)
            #expect(try await hub.client("stationed-transport").payload(id).plaintext == Data("姓名,单位\r\n".utf8))
        }
    }

    @Test func aFormIsHeldToTheStreamedLimitNotToAJSONBodysLimit() async throws {
        try await TestHub.with(limits: HubLimits(payloadBytes: 256 << 10, streamedPayloadBytes: 2 << 20)) { hub in
            let client = try hub.client("stationed-transport")
            func form(_ size: Int) -> Data {
                Data(Self.form(boundary: "b", parts: [
                    ("Content-Disposition: form-data; name=\"item\"", Array(#"{"kind":"report","title":"t","unit":"transport-bureau","classification":"general"}"#.utf8)),
                    ("Content-Disposition: form-data; name=\"payload\"", StreamedPayloadTests.payload(size)),
                ]))
            }
            // Four times the JSON body's limit, within the streamed one.
            let stored = try await client.send(.POST, "/v1/items", body: form(1 << 20), headers: [("Content-Type", "multipart/form-data; boundary=b")])
            #expect(stored.status == 201, "\(stored.text)")
            #expect(stored.json["size"] as? Int == 1 << 20)
            let tooLarge = try await client.send(.POST, "/v1/items", body: form(3 << 20), headers: [("Content-Type", "multipart/form-data; boundary=b")])
            #expect(tooLarge.status == 413 && tooLarge.errorCode == "payload_too_large", "\(tooLarge.text)")
            #expect(try await hub.texts("SELECT CAST(count(*) AS TEXT) FROM item") == ["1"])
            #expect(try await hub.texts("SELECT CAST(count(*) AS TEXT) FROM payload_chunk") == ["0"])
        }
    }

    @Test func aFormCutShortOrWithoutABoundaryIsRefusedAndTheHubServesOn() async throws {
        try await TestHub.with { hub in
            let client = try hub.client("stationed-transport")
            let item = #"{"kind":"report","title":"t","unit":"transport-bureau","classification":"general"}"#
            let cut = "--b\r\nContent-Disposition: form-data; name=\"item\"\r\n\r\n\(item)\r\n--b\r\nContent-Disposition: form-data; name=\"payload\"\r\n\r\n"
                + String(repeating: "x", count: 3 << 20)
            let truncated = try await client.send(.POST, "/v1/items", body: Data(cut.utf8), headers: [("Content-Type", "multipart/form-data; boundary=b")])
            #expect(truncated.status == 400)
            #expect(truncated.errorMessage == "the multipart/form-data body is malformed: the body ended before the form's closing boundary")
            let unbounded = try await client.send(.POST, "/v1/items", body: Data(cut.utf8), headers: [("Content-Type", "multipart/form-data")])
            #expect(unbounded.status == 400)
            #expect(unbounded.errorMessage == "a multipart/form-data body needs a boundary parameter of 1 to 70 characters")
            #expect(try await hub.texts("SELECT CAST(count(*) AS TEXT) FROM payload_chunk") == ["0"])
            #expect(try await client.push(unit: "transport-bureau", classification: "general").status == 201)
        }
    }
}
