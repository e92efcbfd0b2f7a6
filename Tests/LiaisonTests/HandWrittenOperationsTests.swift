import Foundation
import HTTPTypes
import LiaisonAPI
import OpenAPIRuntime
import Testing
@testable import LiaisonServer

/// The hot operations answered by hand (`HandWrittenOperations`, `ItemJSON`) against the generated layer they replace.
@Suite("Hand-written operations")
struct HandWrittenOperationsTests {
    /// The generated layer's JSON coders: its date transcoder, as `Wire.configuration` sets it.
    static func generatedEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(try MillisecondDateTranscoder().encode(date))
        }
        return encoder
    }

    static func generatedDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in try MillisecondDateTranscoder().decode(try decoder.singleValueContainer().decode(String.self)) }
        return decoder
    }

    static let awkward = ["", "plain", "引号\"与\\反斜杠", "new\nline\ttab\r", "\u{1}\u{1f}\u{7f}", "a/b", "😀 emoji", "=&,:{}[]", "\u{FFFD}", "é"]

    static func item(seed: UInt64) -> Components.Schemas.Item {
        var rng = SplitMix(state: seed &* 7919)
        func text() -> String { (0..<Int.random(in: 1...3, using: &rng)).map { _ in awkward.randomElement(using: &rng)! }.joined() }
        func maybe<T>(_ value: @autoclosure () -> T) -> T? { Bool.random(using: &rng) ? value() : nil }
        let millis = Int64.random(in: -62_135_596_800_000...253_402_300_799_999, using: &rng)
        return Components.Schemas.Item(
            id: text(), access: Bool.random(using: &rng) ? .read : .withheld, integrityError: maybe(Bool.random(using: &rng)), answers: maybe(text()),
            kind: text(), classification: text(), owner: text(), unit: text(), createdAt: Date(timeIntervalSince1970: Double(millis) / 1000),
            title: maybe(text()), persons: maybe((0..<Int.random(in: 0...3, using: &rng)).map { _ in text() }),
            tags: maybe((0..<Int.random(in: 0...3, using: &rng)).map { _ in text() }), contentType: maybe(text()), sha256: maybe(text()),
            size: maybe(Int64.random(in: Int64.min...Int64.max, using: &rng)), pushedBy: maybe(text()))
    }

    @Test(arguments: 1...40)
    func anItemWrittenByHandReadsAsTheItemTheGeneratedLayerWrites(seed: UInt64) throws {
        let item = Self.item(seed: seed)
        let byHand = try Self.generatedDecoder().decode(Components.Schemas.Item.self, from: Data(ItemJSON.bytes(of: item)))
        let generated = try Self.generatedDecoder().decode(Components.Schemas.Item.self, from: try Self.generatedEncoder().encode(item))
        #expect(byHand == generated)
        // And it is one JSON object with exactly the members the generated encoder writes.
        let handKeys = try #require(try JSONSerialization.jsonObject(with: Data(ItemJSON.bytes(of: item))) as? [String: Any]).keys
        let generatedKeys = try #require(try JSONSerialization.jsonObject(with: try Self.generatedEncoder().encode(item)) as? [String: Any]).keys
        #expect(Set(handKeys) == Set(generatedKeys))
    }

    @Test(arguments: 1...20)
    func aPageWrittenByHandReadsAsThePageTheGeneratedLayerWrites(seed: UInt64) throws {
        var rng = SplitMix(state: seed)
        let items = (0..<Int.random(in: 0...5, using: &rng)).map { Self.item(seed: seed &* 31 &+ UInt64($0)) }
        let page = Components.Schemas.ItemPage(items: items, nextCursor: Bool.random(using: &rng) ? Self.awkward.randomElement(using: &rng)! : nil)
        let byHand = try Self.generatedDecoder().decode(Components.Schemas.ItemPage.self, from: Data(ItemJSON.bytes(of: page)))
        #expect(byHand == page)
        let handKeys = try #require(try JSONSerialization.jsonObject(with: Data(ItemJSON.bytes(of: page))) as? [String: Any]).keys
        let generatedKeys = try #require(try JSONSerialization.jsonObject(with: try Self.generatedEncoder().encode(page)) as? [String: Any]).keys
        #expect(Set(handKeys) == Set(generatedKeys))
        // A field added to the page's schema fails here until ItemJSON writes it.
        #expect(Mirror(reflecting: page).children.count == ItemJSON.pageFieldCount)
    }

    @Test(arguments: 1...20)
    func aDossierWrittenByHandReadsAsTheDossierTheGeneratedLayerWrites(seed: UInt64) throws {
        var rng = SplitMix(state: seed &* 6151)
        func text() -> String { (0..<Int.random(in: 1...3, using: &rng)).map { _ in Self.awkward.randomElement(using: &rng)! }.joined() }
        func maybe<T>(_ value: @autoclosure () -> T) -> T? { Bool.random(using: &rng) ? value() : nil }
        func mentions() -> [Components.Schemas.Mention] {
            (0..<Int.random(in: 0...3, using: &rng)).map { _ in
                .init(name: text(), items: (0..<Int.random(in: 0...3, using: &rng)).map { _ in text() }, agencies: maybe([text()]), withheld: maybe(Int.random(in: 0...9, using: &rng)))
            }
        }
        let summary = Components.Schemas.DossierSummary(
            byKind: .init(additionalProperties: [text(): Int64.random(in: 0...99, using: &rng)]), byLevel: .init(additionalProperties: [:]),
            persons: mentions(), tags: mentions(),
            openLeads: (0..<Int.random(in: 0...2, using: &rng)).map { _ in .init(id: text(), status: .inProgress, ageDays: Int64.random(in: 0...900, using: &rng)) },
            feedback: (0..<Int.random(in: 0...2, using: &rng)).map { _ in
                .init(id: text(), title: text(), rectified: Bool.random(using: &rng), rectification: maybe(text()), rectifiedAt: maybe(Date(timeIntervalSince1970: 1_790_000_000.5)))
            })
        let items = seed % 4 == 0 ? nil : (0..<Int.random(in: 0...6, using: &rng)).map { Self.item(seed: seed &* 37 &+ UInt64($0)) }
        let dossier = Components.Schemas.Dossier(id: text(), unit: text(), agency: text(), reason: text(), createdAt: Date(timeIntervalSince1970: 1_790_000_000.123),
                                                 requestId: maybe(text()), requestStatus: maybe(text()), readable: Int64.random(in: 0...9, using: &rng),
                                                 withheld: Int64.random(in: 0...9, using: &rng), items: items, summary: summary)
        let byHand = try Self.generatedDecoder().decode(Components.Schemas.Dossier.self, from: Data(try DossierJSON.bytes(of: dossier)))
        let generated = try Self.generatedDecoder().decode(Components.Schemas.Dossier.self, from: try Self.generatedEncoder().encode(dossier))
        #expect(byHand == generated)
        #expect(byHand.items?.count == items?.count)
        let handKeys = try #require(try JSONSerialization.jsonObject(with: Data(try DossierJSON.bytes(of: dossier))) as? [String: Any]).keys
        let generatedKeys = try #require(try JSONSerialization.jsonObject(with: try Self.generatedEncoder().encode(dossier)) as? [String: Any]).keys
        #expect(Set(handKeys) == Set(generatedKeys))
    }

    static func newItem(seed: UInt64) -> Components.Schemas.NewItem {
        var rng = SplitMix(state: seed &* 104_729)
        func text() -> String { (0..<Int.random(in: 1...3, using: &rng)).map { _ in awkward.randomElement(using: &rng)! }.joined() }
        func maybe<T>(_ value: @autoclosure () -> T) -> T? { Bool.random(using: &rng) ? value() : nil }
        return Components.Schemas.NewItem(kind: text(), title: text(), unit: text(), classification: Components.Schemas.Classification.allCases.randomElement(using: &rng)!,
                                          contentType: text(), payload: text(), answers: maybe(text()),
                                          contentEncoding: maybe(Components.Schemas.NewItem.ContentEncodingPayload.allCases.randomElement(using: &rng)!),
                                          persons: maybe((0..<Int.random(in: 0...3, using: &rng)).map { _ in text() }),
                                          tags: maybe((0..<Int.random(in: 0...3, using: &rng)).map { _ in text() }))
    }

    /// The hand-read body is the generated decoder's reading of it, or nil (left to the generated decoder): never a
    /// different item, and never one the generated decoder would refuse.
    func expectReadAsGenerated(_ body: Data, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let byHand = NewItemJSON.read(body) else { return }
        let generated = try? Self.generatedDecoder().decode(Components.Schemas.NewItem.self, from: body)
        #expect(generated == byHand, "\(String(decoding: body, as: UTF8.self))", sourceLocation: sourceLocation)
    }

    @Test(arguments: 1...40)
    func aPushBodyReadByHandIsTheItemTheGeneratedDecoderReads(seed: UInt64) throws {
        let item = Self.newItem(seed: seed)
        let body = try Self.generatedEncoder().encode(item)
        #expect(NewItemJSON.read(body) == item, "the plain form is read by hand")
        expectReadAsGenerated(body)
    }

    @Test func pushBodiesOutsideThePlainFormAreLeftToTheGeneratedDecoder() throws {
        let base = #""kind":"report","title":"t","unit":"u","classification":"general","content_type":"text/plain","payload":"aGk=""#
        let plain = Data("{\(base)}".utf8)
        #expect(NewItemJSON.read(plain)?.title == "t")
        let readByHand: [String] = [
            " \n{ \(base) , \"persons\" : [ ] ,\"tags\":[\"a\",\"\\u00e9\"] }\t",  // spacing, empty and escaped lists
            "{\(base),\"extra\":\"ignored\",\"more\":[\"x\"]}",  // unknown members of plain shape
            "{\"\\u006bind\":\"report\",\"title\":\"t\",\"unit\":\"u\",\"classification\":\"general\",\"content_type\":\"text/plain\",\"payload\":\"aGk=\"}",
        ]
        for text in readByHand {
            #expect(NewItemJSON.read(Data(text.utf8)) != nil, "\(text)")
            expectReadAsGenerated(Data(text.utf8))
        }
        var leftOver: [Data] = [
            "{\(base),\"title\":\"again\"}", "{\(base),\"answers\":null}", "{\(base),\"extra\":1}", "{\(base),\"extra\":{}}",
            "{\(base),\"persons\":\"one\"}", "{\(base),\"tags\":[1]}", "{\(base),\"content_encoding\":\"gzip\"}", "{\(base)",
            "{\(base)} x", "[\(base)]", "{\(base),}", "{\(base),\"title\":\"\\ud83d\"}", "{\(base),\"x\":\"\n\"}",
            #"{"kind":"report","title":"t","unit":"u","classification":"secret","content_type":"text/plain","payload":"aGk="}"#,
            #"{"kind":"report","unit":"u","classification":"general","content_type":"text/plain","payload":"aGk="}"#, "", "null",
        ].map { Data($0.utf8) }
        leftOver.append(Data("{\(base),\"answers\":\"".utf8) + Data([0xC3, 0x28]) + Data("\"}".utf8))  // not UTF-8
        for body in leftOver {
            #expect(NewItemJSON.read(body) == nil, "\(String(decoding: body, as: UTF8.self))")
        }
    }

    @Test func everyFieldOfTheSchemaIsWritten() throws {
        let full = Components.Schemas.Item(id: "01M9", access: .read, integrityError: false, answers: "01M8", kind: "feedback", classification: "general",
                                           owner: "office-3", unit: "transport-bureau", createdAt: Date(timeIntervalSince1970: 1_790_000_000.123),
                                           title: "标题", persons: ["张三"], tags: ["工程"], contentType: "text/plain", sha256: "ab", size: 2, pushedBy: "li.na")
        // A field added to the contract changes the generated type; this count then fails until ItemJSON writes it too.
        #expect(Mirror(reflecting: full).children.count == ItemJSON.fieldCount)
        let written = try #require(try JSONSerialization.jsonObject(with: Data(ItemJSON.bytes(of: full))) as? [String: Any])
        #expect(written.count == ItemJSON.fieldCount)
        #expect(try Self.generatedDecoder().decode(Components.Schemas.Item.self, from: Data(ItemJSON.bytes(of: full))) == full)
    }

    /// Records what the generated layer registers, as a router would.
    final class RecordingTransport: ServerTransport, @unchecked Sendable {
        var routes: [String] = []
        func register(_ handler: @escaping @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?),
                      method: HTTPRequest.Method, path: String) throws {
            routes.append("\(method.rawValue) \(path)")
        }
    }

    @Test func theHandWrittenRoutesReplaceOperationsTheContractStillHasAndNothingElse() async throws {
        try await TestHub.with { running in
            let api = APIHandler(hub: running.hub, metrics: nil)
            let generatedOnly = RecordingTransport()
            try api.registerHandlers(on: generatedOnly, configuration: Wire.configuration)
            let recorder = RecordingTransport()
            let handWritten = HandWrittenOperations(base: recorder, api: api)
            try api.registerHandlers(on: handWritten, configuration: Wire.configuration)
            // Both routes exist in the contract, each replaced once, and every operation is still registered once.
            let expected: Set = ["GET /v1/items/{id}", "POST /v1/items", "GET /v1/items/{id}/payload", "GET /v1/items", "POST /v1/dossiers/{id}/payloads",
                               "GET /v1/dossiers/{id}", "GET /v1/requests/{id}"]
            #expect(expected.isSubset(of: Set(generatedOnly.routes)))
            #expect(handWritten.replaced.sorted() == expected.sorted())
            #expect(recorder.routes == generatedOnly.routes)
        }
    }

    /// An access request read by hand is written as the generated layer wrote the same request's answer when it was
    /// filed, member for member; for its approver (who sees titles) as for its requester (who does not).
    @Test func aRequestIsReadAsTheGeneratedLayerWritesIt() async throws {
        try await TestHub.with { hub in
            let pushed = try await hub.client("stationed-transport").push(title: "引号\"与/斜杠", unit: "transport-bureau", classification: "restricted")
            let item = try #require(pushed.json["id"] as? String)
            let asked = try await hub.client("inspection-2").send(.POST, "/v1/requests", body: try JSONSerialization.data(withJSONObject: [
                "items": [item], "reason": "巡察 \"第二轮\"", "duration": "7d"]))
            #expect(asked.status == 201, "\(asked.text)")
            let id = try #require(asked.json["id"] as? String)
            let read = try await hub.client("inspection-2").get("/v1/requests/\(id)")
            #expect(read.status == 200 && read.headers.first(name: "Content-Type") == "application/json; charset=utf-8")
            // Member for member (JSONEncoder writes an object's members in no fixed order, the generated layer's too).
            #expect(NSDictionary(dictionary: read.json) == NSDictionary(dictionary: asked.json) && read.body.count == asked.body.count, "\(read.text)\n\(asked.text)")
            let approver = try await hub.client("zhang.wei").get("/v1/requests/\(id)")
            let request = try Self.generatedDecoder().decode(Components.Schemas.AccessRequest.self, from: approver.body)
            #expect(request.id == id && request.items.map(\.id) == [item] && request.items.first?.title == "引号\"与/斜杠" && request.reason == "巡察 \"第二轮\"")
            #expect(try await hub.client("office-5").get("/v1/requests/\(id)").status == 404)
            let refused = try await hub.client("inspection-2").send(.GET, "/v1/requests/\(id)", headers: [("Accept", "text/plain")])
            #expect(refused.status == 406, "\(refused.text)")
        }
    }

    @Test func theHandWrittenRoutesAnswerAsTheContractSaysAndRefuseWhatTheGeneratedLayerRefused() async throws {
        try await TestHub.with { hub in
            let client = try hub.client("stationed-finance")
            let pushed = try await client.push(title: "引号\"与\\反斜杠\n", unit: "finance-bureau", classification: "general")
            #expect(pushed.status == 201)
            #expect(pushed.headers.first(name: "Content-Type") == "application/json; charset=utf-8")
            let id = try #require(pushed.json["id"] as? String)
            #expect(pushed.json["title"] as? String == "引号\"与\\反斜杠\n")
            let read = try await client.get("/v1/items/\(id)")
            #expect(read.status == 200)
            let item = try Self.generatedDecoder().decode(Components.Schemas.Item.self, from: read.body)
            #expect(item.id == id && item.title == "引号\"与\\反斜杠\n" && item.access == .read && item.size == 7 && item.pushedBy == "stationed-finance")
            let payload = try await client.get("/v1/items/\(id)/payload")
            #expect(payload.status == 200 && payload.body == Data("payload".utf8))
            #expect(payload.headers.first(name: "Content-Type") == "application/octet-stream")
            #expect(payload.headers.first(name: "Liaison-SHA256") == item.sha256)
            #expect(payload.headers.first(name: "Liaison-Content-Type") == "text/plain")
            let sealed = try await client.push(unit: "finance-bureau", classification: "confidential")
            let sealedID = try #require(sealed.json["id"] as? String)
            let (envelope, opened) = try await client.payload(sealedID)
            #expect(envelope.headers.first(name: "Content-Type") == "application/pkcs7-mime" && opened == Data("payload".utf8))
            let refused = try await client.send(.GET, "/v1/items/\(sealedID)/payload", headers: [("Accept", "application/octet-stream")])
            #expect(refused.status == 406 && refused.errorCode == "not_acceptable")
            // A listing: filters and paging read from the query as the generated layer reads them.
            let other = try #require(try await client.push(title: "二", unit: "finance-bureau", classification: "restricted").json["id"] as? String)
            let first = try await client.get("/v1/items?unit=finance-bureau&limit=2")
            #expect(first.status == 200 && first.headers.first(name: "Content-Type") == "application/json; charset=utf-8")
            let firstPage = try Self.generatedDecoder().decode(Components.Schemas.ItemPage.self, from: first.body)
            #expect(firstPage.items.map(\.id) == [other, sealedID] && firstPage.items.first?.title == "二")
            let cursor = try #require(firstPage.nextCursor)
            let second = try Self.generatedDecoder().decode(Components.Schemas.ItemPage.self,
                                                            from: try await client.get("/v1/items?unit=finance-bureau&limit=2&cursor=\(cursor)").body)
            #expect(second.items.map(\.id) == [id] && second.nextCursor == nil)
            let general = try Self.generatedDecoder().decode(Components.Schemas.ItemPage.self,
                                                             from: try await client.get("/v1/items?classification=general&owner=stationed-finance").body)
            #expect(general.items.map(\.id) == [id])
            // A key spelled with escapes or a `+` is decoded first, as the generated layer decodes it.
            for query in ["%6Cimit=1&unit=finance-bureau", "unit=finance-bureau&limi%74=1", "li%6D%69t=1&+unit=x&unit=finance-bureau"] {
                let page = try Self.generatedDecoder().decode(Components.Schemas.ItemPage.self, from: try await client.get("/v1/items?\(query)").body)
                #expect(page.items.map(\.id) == [other], "\(query)")
            }
            // A pair without `=` is refused, as the generated layer refuses it, even where it names no parameter.
            for query in ["&&=", "unit=nowhere&&=", "other", "other=1&limit"] {
                let refused = try await client.get("/v1/items?\(query)")
                #expect(refused.status == 400, "\(query)")
            }
            let unknown = try await client.get("/v1/items?other=1&unit=nowhere&=")
            #expect(unknown.status == 200)
            #expect(try Self.generatedDecoder().decode(Components.Schemas.ItemPage.self, from: unknown.body).items.isEmpty)
            // Values with escapes, `+` or nothing are the converter's to read, or refuse.
            let escaped = try Self.generatedDecoder().decode(Components.Schemas.ItemPage.self, from: try await client.get("/v1/items?unit=finance%2Dbureau&limit=%31").body)
            #expect(escaped.items.map(\.id) == [other])
            for query in ["limit=", "limit=1+1", "limit=1.0", "limit=99999999999999999999"] {
                let refused = try await client.get("/v1/items?\(query)")
                #expect(refused.status == 400, "\(query)")
            }
            #expect(PlainQuery("unit=a&limit=2&limit=3", name: "limit") == .plain("2") && PlainQuery("unit=a&limits=2", name: "limit") == .absent)
            #expect(PlainQuery(nil, name: "limit") == .absent && PlainQuery("", name: "limit") == .absent && PlainQuery("x=%41&y=+", name: "limit") == .absent)
            #expect(PlainQuery("limit=2&other", name: "limit") == .converter && PlainQuery("a=1&li+mit=2", name: "limit") == .converter)
            #expect(PlainQuery("limit=&a=1", name: "limit") == .converter && PlainQuery("unit=a%20b", name: "unit") == .converter)
            #expect(PlainQuery("unit=fin-bureau_1.x~y", name: "unit") == .plain("fin-bureau_1.x~y"))
            // What the query cannot be read as goes to the generated layer, which refuses it as it did.
            for query in ["limit=abc", "classification=secret", "limit=-"] {
                let refused = try await client.get("/v1/items?\(query)")
                #expect(refused.status == 400, "\(query)")
            }
            let tooMany = try await client.get("/v1/items?limit=5000")
            #expect(tooMany.status == 400 && tooMany.errorField == "limit")
            // Refusals of the request itself still come from the generated layer, with the messages it gave.
            for path in ["/v1/items/\(id)", "/v1/items/\(id)/payload", "/v1/items", "/v1/dossiers/0000000000000000"] {
                let unparsable = try await client.send(.GET, path, headers: [("Accept", "*/*;q=x")])
                #expect(unparsable.status == 400, "\(path)")
            }
            let unparsablePush = try await client.send(.POST, "/v1/items", body: Data(#"{"kind":"report","title":"t","unit":"finance-bureau","classification":"general","content_type":"text/plain","payload":"aGk="}"#.utf8),
                                                       headers: [("Content-Type", "application/json"), ("Accept", "*/*;q=x")])
            #expect(unparsablePush.status == 400)
            let missing = try await client.send(.POST, "/v1/items", body: Data(#"{"kind":"report"}"#.utf8), headers: [("Content-Type", "application/json")])
            #expect(missing.status == 400)
            #expect(missing.errorMessage == "the field 'title' is missing")
            let notJSON = try await client.send(.POST, "/v1/items", body: Data("{".utf8), headers: [("Content-Type", "application/json")])
            #expect(notJSON.status == 400)
            #expect(notJSON.errorCode == "invalid_json")
            let badLevel = try await client.send(.POST, "/v1/items", body: Data(#"{"kind":"report","title":"t","unit":"finance-bureau","classification":"secret","content_type":"text/plain","payload":"aGk="}"#.utf8),
                                                 headers: [("Content-Type", "application/json")])
            #expect(badLevel.status == 400)
            #expect(badLevel.errorField == "classification")
        }
    }
}
