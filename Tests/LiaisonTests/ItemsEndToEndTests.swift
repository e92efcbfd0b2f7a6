import Foundation
import GRDB
import LiaisonHub
import LiaisonServer
import Testing

@Suite("Items over mTLS")
struct ItemsEndToEndTests {
    /// Pushes one item per level as stationed-transport about transport-bureau; returns level -> id.
    func pushOnePerLevel(_ hub: RunningHub) async throws -> [String: String] {
        var ids: [String: String] = [:]
        for level in ["general", "restricted", "confidential"] {
            let response = try await hub.client("stationed-transport").push(title: "\(level) 报告", unit: "transport-bureau", classification: level,
                                                                            payload: Data("\(level) payload 内容".utf8))
            #expect(response.status == 201)
            ids[level] = response.json["id"] as? String
        }
        return ids
    }

    @Test func pushAnswers201WithIdDigestOwnerAndTime() async throws {
        try await TestHub.with { hub in
            let payload = Data("日常监督情况".utf8)
            let response = try await hub.client("wang.fang").push(kind: "report", title: "十月报告", unit: "transport-bureau", classification: "general",
                                                                   payload: payload, overrides: ["persons": ["张三"], "tags": ["道路工程"]])
            #expect(response.status == 201)
            let body = response.json
            #expect((body["id"] as? String)?.count == 16)
            #expect(body["sha256"] as? String == sha256Hex(payload))
            #expect(body["owner"] as? String == "stationed-transport")
            #expect(body["pushed_by"] as? String == "wang.fang")
            #expect(body["persons"] as? [String] == ["张三"])
            #expect(body["tags"] as? [String] == ["道路工程"])
            #expect(body["created_at"] as? String != nil)
            #expect(body["access"] as? String == "read")
        }
    }

    @Test func payloadComesBackByteForByteAtEveryLevelForTheOwner() async throws {
        try await TestHub.with { hub in
            let binary = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31) })
            for level in ["general", "restricted", "confidential"] {
                let pushed = try await hub.client("stationed-finance").push(unit: "finance-bureau", classification: level, payload: binary)
                let id = try #require(pushed.json["id"] as? String)
                let (fetched, plaintext) = try await hub.client("stationed-finance").payload(id)
                #expect(fetched.status == 200)
                #expect(fetched.isSealed == (level == "confidential"))
                #expect(plaintext == binary)
                #expect(fetched.headers.first(name: "Liaison-SHA256") == sha256Hex(binary))
                #expect(fetched.headers.first(name: "Liaison-Content-Type") == "text/plain")
            }
        }
    }

    /// Metadata status and access, payload status, for each reader and level (item of stationed-transport about transport-bureau).
    static let matrix: [(reader: String, level: String, metadata: Int, access: String?, payload: Int)] = [
        ("stationed-transport", "general", 200, "read", 200), ("stationed-transport", "restricted", 200, "read", 200), ("stationed-transport", "confidential", 200, "read", 200),
        ("wang.fang", "confidential", 200, "read", 200),
        ("office-3", "general", 200, "read", 200), ("office-3", "restricted", 200, "read", 200), ("office-3", "confidential", 200, "withheld", 403),
        ("zhang.wei", "restricted", 200, "read", 200),
        ("stationed-finance", "general", 200, "read", 200), ("stationed-finance", "restricted", 200, "withheld", 403), ("stationed-finance", "confidential", 404, nil, 404),
        ("inspection-2", "general", 200, "read", 200), ("inspection-2", "restricted", 200, "withheld", 403), ("inspection-2", "confidential", 200, "withheld", 403),
        ("office-5", "general", 404, nil, 404), ("office-5", "restricted", 404, nil, 404), ("office-5", "confidential", 404, nil, 404),
        ("stationed-health", "general", 404, nil, 404),
        ("commission", "general", 200, "withheld", 403), ("li.na", "confidential", 200, "withheld", 403),
    ]

    @Test func readersSeeExactlyWhatThePolicyAllows() async throws {
        try await TestHub.with { hub in
            let ids = try await pushOnePerLevel(hub)
            for row in Self.matrix {
                let id = ids[row.level]!
                let metadata = try await hub.client(row.reader).get("/v1/items/\(id)")
                #expect(metadata.status == row.metadata, "\(row.reader) metadata of \(row.level)")
                #expect(metadata.json["access"] as? String == row.access, "\(row.reader) access to \(row.level)")
                if row.access == "withheld" {
                    #expect(metadata.json["title"] == nil && metadata.json["sha256"] == nil && metadata.json["persons"] == nil, "a stub carries no content")
                }
                let (payload, plaintext) = try await hub.client(row.reader).payload(id)
                #expect(payload.status == row.payload, "\(row.reader) payload of \(row.level)")
                if row.payload == 200 { #expect(plaintext == Data("\(row.level) payload 内容".utf8)) }
                if row.payload != 200 { #expect(!payload.text.contains("payload 内容") && !payload.text.contains("报告")) }
            }
        }
    }

    @Test func hiddenAndNonexistentItemsGetTheSame404() async throws {
        try await TestHub.with { hub in
            let ids = try await pushOnePerLevel(hub)
            let hidden = try await hub.client("office-5").get("/v1/items/\(ids["general"]!)")
            let missing = try await hub.client("office-5").get("/v1/items/01ZZZZZZZZZZZZZZ")
            #expect(hidden.status == 404 && missing.status == 404)
            #expect(hidden.errorCode == "not_found" && missing.errorCode == "not_found")
            #expect(hidden.errorMessage.replacingOccurrences(of: ids["general"]!, with: "X") == missing.errorMessage.replacingOccurrences(of: "01ZZZZZZZZZZZZZZ", with: "X"))
        }
    }

    @Test func listingShowsReadableItemsAndWithheldStubsOnly() async throws {
        try await TestHub.with { hub in
            let ids = try await pushOnePerLevel(hub)
            let list = try await hub.client("inspection-2").get("/v1/items?unit=transport-bureau")
            let items = try #require(list.json["items"] as? [[String: Any]])
            let byID = Dictionary(uniqueKeysWithValues: items.map { ($0["id"] as! String, $0) })
            #expect(byID.count == 3)
            #expect(byID[ids["general"]!]?["access"] as? String == "read")
            #expect(byID[ids["general"]!]?["title"] as? String == "general 报告")
            #expect(byID[ids["restricted"]!]?["access"] as? String == "withheld")
            #expect(byID[ids["restricted"]!]?["title"] == nil)
            #expect(byID[ids["confidential"]!]?.keys.sorted() == ["access", "classification", "created_at", "id", "kind", "owner", "unit"])
            let unrelated = try await hub.client("office-5").get("/v1/items")
            #expect((unrelated.json["items"] as? [Any])?.count == 0)
            let filtered = try await hub.client("stationed-transport").get("/v1/items?classification=confidential")
            #expect((filtered.json["items"] as? [[String: Any]])?.map { $0["id"] as! String } == [ids["confidential"]!])
            let bad = try await hub.client("stationed-transport").get("/v1/items?classification=secret")
            #expect(bad.status == 400 && bad.errorField == "classification")
            for limit in ["0", "1001"] {
                let outOfRange = try await hub.client("stationed-transport").get("/v1/items?limit=\(limit)")
                #expect(outOfRange.status == 400 && outOfRange.errorField == "limit", "limit=\(limit)")
            }
            let notANumber = try await hub.client("stationed-transport").get("/v1/items?limit=many")
            #expect(notANumber.status == 400)
        }
    }

    @Test func listingPagesWithACursorAndSkipsHiddenItems() async throws {
        try await TestHub.with { hub in
            for index in 0..<7 {
                _ = try await hub.client("stationed-health").push(title: "hidden \(index)", unit: "health-commission", classification: "general")
                _ = try await hub.client("stationed-transport").push(title: "visible \(index)", unit: "transport-bureau", classification: "general")
            }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await hub.client("office-3").get("/v1/items?limit=3" + (cursor.map { "&cursor=\($0)" } ?? ""))
                seen += (page.json["items"] as? [[String: Any]] ?? []).map { $0["title"] as! String }
                cursor = page.json["next_cursor"] as? String
            } while cursor != nil
            #expect(seen == (0..<7).reversed().map { "visible \($0)" })
        }
    }

    @Test func theAssignedTeamLosesAccessWhenItsWindowCloses() async throws {
        let clock = TestClock(TestClock.insideWindow)
        try await TestHub.with(clock: clock) { hub in
            let ids = try await pushOnePerLevel(hub)
            #expect(try await hub.client("inspection-2").get("/v1/items/\(ids["general"]!)/payload").status == 200)
            clock.set(TestClock.afterWindow)
            #expect(try await hub.client("inspection-2").get("/v1/items/\(ids["general"]!)/payload").status == 404)
            #expect(try await hub.client("inspection-2").get("/v1/items/\(ids["restricted"]!)").status == 404)
        }
    }

    @Test func idempotentRetryReturnsTheFirstItemAndAChangedBodyIsAConflict() async throws {
        try await TestHub.with { hub in
            let client = try hub.client("stationed-finance")
            let first = try await client.push(unit: "finance-bureau", classification: "confidential", key: "retry-1")
            let retry = try await client.push(unit: "finance-bureau", classification: "confidential", key: "retry-1")
            #expect(first.status == 201)
            #expect(retry.status == 200)
            #expect(retry.json["id"] as? String == first.json["id"] as? String)
            let changed = try await client.push(title: "另一份", unit: "finance-bureau", classification: "confidential", key: "retry-1")
            #expect(changed.status == 409)
            #expect(changed.errorCode == "idempotency_conflict")
            let other = try await hub.client("office-3").push(unit: "finance-bureau", classification: "general", key: "retry-1")
            #expect(other.status == 201)
            let mine = try await client.get("/v1/items?owner=stationed-finance")
            #expect((mine.json["items"] as? [Any])?.count == 1)
        }
    }

    static let badInputs: [(name: String, body: String?, status: Int, code: String, field: String?)] = [
        ("invalid JSON", "{\"kind\": ", 400, "invalid_json", nil),
        ("not an object", "[1,2]", 400, "invalid_json", nil),
        ("wrong type", #"{"kind":"report","title":5,"unit":"finance-bureau","classification":"general","content_type":"text/plain","payload":"YQ=="}"#, 400, "invalid_field", "title"),
        ("missing field", #"{"kind":"report","unit":"finance-bureau","classification":"general","content_type":"text/plain","payload":"YQ=="}"#, 400, "missing_field", "title"),
        ("unknown kind", #"{"kind":"memo","title":"t","unit":"finance-bureau","classification":"general","content_type":"text/plain","payload":"YQ=="}"#, 400, "invalid_field", "kind"),
        ("unknown unit", #"{"kind":"report","title":"t","unit":"moon-bureau","classification":"general","content_type":"text/plain","payload":"YQ=="}"#, 400, "invalid_field", "unit"),
        ("unknown classification", #"{"kind":"report","title":"t","unit":"finance-bureau","classification":"secret","content_type":"text/plain","payload":"YQ=="}"#, 400, "invalid_field", "classification"),
        ("bad base64", #"{"kind":"report","title":"t","unit":"finance-bureau","classification":"general","content_type":"text/plain","payload":"!!not base64!!"}"#, 400, "invalid_field", "payload"),
        ("empty title", #"{"kind":"report","title":"  ","unit":"finance-bureau","classification":"general","content_type":"text/plain","payload":"YQ=="}"#, 400, "invalid_field", "title"),
        ("bad content type", #"{"kind":"report","title":"t","unit":"finance-bureau","classification":"general","content_type":"text","payload":"YQ=="}"#, 400, "invalid_field", "content_type"),
        ("empty media subtype", #"{"kind":"report","title":"t","unit":"finance-bureau","classification":"general","content_type":"text//plain","payload":"YQ=="}"#, 400, "invalid_field", "content_type"),
        ("line separator in the content type", #"{"kind":"report","title":"t","unit":"finance-bureau","classification":"general","content_type":"text/plain\u2028","payload":"YQ=="}"#, 400, "invalid_field", "content_type"),
        ("empty person", #"{"kind":"report","title":"t","unit":"finance-bureau","classification":"general","content_type":"text/plain","payload":"YQ==","persons":[""]}"#, 400, "invalid_field", "persons"),
        ("no body", nil, 400, "invalid_json", nil),
        // SQLite text ends at a NUL: such text would be stored cut short, so it is refused.
        ("NUL in the title", #"{"kind":"report","title":"a\u0000b","unit":"finance-bureau","classification":"general","content_type":"text/plain","payload":"YQ=="}"#, 400, "invalid_field", "title"),
        ("NUL in a tag", #"{"kind":"report","title":"t","unit":"finance-bureau","classification":"general","content_type":"text/plain","payload":"YQ==","tags":["x\u0000"]}"#, 400, "invalid_field", "tags"),
        ("NUL in the content type", #"{"kind":"report","title":"t","unit":"finance-bureau","classification":"general","content_type":"text/pl\u0000ain","payload":"YQ=="}"#, 400, "invalid_field", "content_type"),
    ]

    @Test(arguments: badInputs.indices)
    func badInputGetsA400NamingTheField(_ index: Int) async throws {
        let case_ = Self.badInputs[index]
        try await TestHub.with { hub in
            let client = try hub.client("stationed-finance")
            let response = try await client.send(.POST, "/v1/items", body: case_.body.map { Data($0.utf8) }, headers: [("Content-Type", "application/json")])
            #expect(response.status == case_.status, "\(case_.name): \(response.text)")
            #expect(response.errorCode == case_.code, "\(case_.name): \(response.text)")
            #expect(response.errorField == case_.field, "\(case_.name)")
            #expect(!response.errorMessage.isEmpty)
            #expect((response.json["error"] as? [String: Any])?["hint"] as? String != nil, "\(case_.name) has a hint")
            // Nothing was stored, and the hub still serves.
            let list = try await client.get("/v1/items")
            #expect((list.json["items"] as? [Any])?.count == 0)
        }
    }

    /// The generated layer checks Accept only when it writes the answer; the hub checks it first, so a push
    /// the client would refuse is not stored and a payload it would refuse is neither sent nor traced as read.
    @Test func anAcceptHeaderThatExcludesTheAnswerIsA406BeforeAnythingHappens() async throws {
        try await TestHub.with { hub in
            let client = try hub.client("stationed-finance")
            let body = try JSONSerialization.data(withJSONObject: ["kind": "report", "title": "t", "unit": "finance-bureau", "classification": "confidential",
                                                                  "content_type": "text/plain", "payload": Data("秘密".utf8).base64EncodedString()])
            let refused = try await client.send(.POST, "/v1/items", body: body, headers: [("Accept", "text/html")])
            #expect(refused.status == 406 && refused.errorCode == "not_acceptable", "\(refused.text)")
            #expect((try await client.get("/v1/items").json["items"] as? [Any])?.count == 0)
            let pushed = try await client.send(.POST, "/v1/items", body: body, headers: [("Accept", "text/html, application/*;q=0.5")])
            #expect(pushed.status == 201, "\(pushed.text)")
            let id = try #require(pushed.json["id"] as? String)
            let plainOnly = try await client.send(.GET, "/v1/items/\(id)/payload", headers: [("Accept", "application/octet-stream")])
            #expect(plainOnly.status == 406 && plainOnly.errorCode == "not_acceptable" && plainOnly.errorMessage.contains("application/pkcs7-mime"), "\(plainOnly.text)")
            let sealed = try await client.send(.GET, "/v1/items/\(id)/payload", headers: [("Accept", "application/pkcs7-mime")])
            #expect(sealed.status == 200 && sealed.isSealed)
            let malformed = try await client.send(.GET, "/v1/whoami", headers: [("Accept", "json")])
            #expect(malformed.status == 400 && malformed.errorCode == "bad_accept" && malformed.errorField == "Accept")
            #expect(try await client.send(.GET, "/v1/hub/certificate", headers: [("Accept", "application/json")]).status == 406)
            // The refused payload read is traced as a refusal; only the delivered one as a read.
            let reads = try await hub.client("zhao.lei").get("/v1/audit?action=getItemPayload")
            #expect((reads.json["entries"] as? [[String: Any]])?.map { $0["outcome"] as? String } == ["refused", "ok"])
        }
    }

    /// The Accept check runs before the generated layer, from a table of its own: it must say what openapi.yaml says
    /// each route's success answers can be, or a new endpoint would be refused (or let through) wrongly.
    /// The lines of openapi.yaml's `paths:`, each with the path it belongs to (a path's own line included).
    static func contractPathLines() throws -> [(path: String, line: String)] {
        let lines = try String(contentsOf: Paths.packageRoot.appendingPathComponent("Sources/LiaisonAPI/openapi.yaml"), encoding: .utf8)
            .components(separatedBy: "\n")
        var out: [(path: String, line: String)] = []
        var path: String?
        for line in lines {
            if line.hasPrefix("  /"), line.hasSuffix(":") { path = String(line.dropFirst(2).dropLast()) }
            if line.hasPrefix("components:") { path = nil }
            if let path { out.append((path, line)) }
        }
        return out
    }

    @Test func theAcceptTableMatchesTheContract() throws {
        var declared: [String: Set<String>] = [:]
        var inSuccess = false
        for (path, line) in try Self.contractPathLines() {
            if line.hasPrefix("  /") {
                declared[path] = []
            } else if line.hasPrefix("        \""), !line.hasPrefix("         ") {
                inSuccess = line.hasPrefix("        \"2")
            } else if line.hasPrefix("      "), !line.hasPrefix("       ") {
                inSuccess = false  // the next section of the operation (parameters, requestBody, responses)
            } else if inSuccess, line.hasPrefix("            "), !line.hasPrefix("             "), line.hasSuffix(":"), line.contains("/") {
                declared[path]!.insert(line.trimmingCharacters(in: .whitespaces).dropLast().description)
            }
        }
        #expect(declared.count > 20)
        for (path, types) in declared where !types.isEmpty {
            let concrete = path.replacingOccurrences(of: "{id}", with: "01ABCDEFGHJKMNPQ")
            #expect(Set(AnswerMediaTypes.of(path: concrete)) == types, "\(path)")
        }
    }

    @Test func theMethodTableMatchesTheContract() throws {
        var declared: [String: Set<String>] = [:]
        for (path, line) in try Self.contractPathLines() {
            if line.hasPrefix("  /") {
                declared[path] = []
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":"),
                      ["get", "post", "put", "patch", "delete"].contains(line.trimmingCharacters(in: .whitespaces).dropLast().description) {
                declared[path]!.insert(line.trimmingCharacters(in: .whitespaces).dropLast().uppercased())
            }
        }
        #expect(declared.count == EndpointMethods.table.count)
        for (template, methods) in EndpointMethods.table { #expect(declared[template] == Set(methods), "\(template)") }
    }

    @Test func theOperationTableMatchesTheContract() throws {
        var declared: [String: String] = [:]
        var method: String?
        for (path, line) in try Self.contractPathLines() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("    "), !line.hasPrefix("     "), ["get:", "post:", "put:", "patch:", "delete:"].contains(trimmed) {
                method = String(trimmed.dropLast()).uppercased()
            } else if let current = method, trimmed.hasPrefix("operationId: ") {
                declared[current + " " + path] = String(trimmed.dropFirst("operationId: ".count))
                method = nil
            }
        }
        #expect(declared == EndpointMethods.operationIDs)
    }

    @Test func theQueryParameterTablesMatchTheContract() throws {
        let text = try String(contentsOf: Paths.packageRoot.appendingPathComponent("Sources/LiaisonAPI/openapi.yaml"), encoding: .utf8)
        let lines = text.components(separatedBy: "\n")
        // Parameters are written on one line, or as `- name: X` with `in: query` and a schema on the lines after.
        var dates = Set<String>(), enums: [String: String] = [:]
        for (index, line) in lines.enumerated() {
            guard let range = line.range(of: "- { name: ") ?? line.range(of: "- name: ") else { continue }
            let name = String(line[range.upperBound...].prefix { $0 != "," && $0 != " " })
            let block = ([line] + lines[(index + 1)..<min(index + 6, lines.count)].prefix { !$0.contains("- name:") && !$0.contains("- { name:") }).joined(separator: " ")
            guard block.contains("in: query") else { continue }
            if block.contains("format: date-time") { dates.insert(name) }
            if let ref = block.range(of: "#/components/schemas/") { enums[name] = String(block[ref.upperBound...].prefix { $0 != "\"" }) }
        }
        #expect(dates == QueryParameterTypes.dates)
        #expect(Set(enums.keys) == Set(QueryParameterTypes.enums.keys))
        #expect(enums["classification"] == "Classification" && enums["status"] == "RequestStatus")
    }

    @Test func anotherMethodOnAKnownPathIsA405WithAllow() async throws {
        try await TestHub.with { hub in
            let client = try hub.client("office-3")
            let delete = try await client.send(.DELETE, "/v1/items")
            #expect(delete.status == 405)
            #expect(delete.errorCode == "method_not_allowed")
            #expect(delete.headers.first(name: "Allow") == "GET, POST")
            let put = try await client.send(.PUT, "/v1/grants/01ABCDEFGHJKMNPQ", body: Data("{}".utf8))
            #expect(put.status == 405 && put.headers.first(name: "Allow") == "DELETE")
            #expect(try await client.send(.DELETE, "/v1/nothing-here").status == 404)
        }
    }

    @Test func wrongIdempotencyKeyIsA400() async throws {
        try await TestHub.with { hub in
            let response = try await hub.client("office-3").push(unit: "finance-bureau", classification: "general", key: String(repeating: "k", count: 201))
            #expect(response.status == 400 && response.errorField == "Idempotency-Key")
        }
    }

    @Test func payloadOverTheLimitIs413() async throws {
        try await TestHub.with(limits: HubLimits(payloadBytes: 1024)) { hub in
            let client = try hub.client("office-3")
            let justFits = try await client.push(unit: "finance-bureau", classification: "general", payload: Data(count: 1024))
            #expect(justFits.status == 201)
            let over = try await client.push(unit: "finance-bureau", classification: "general", payload: Data(count: 1025))
            #expect(over.status == 413)
            #expect(over.errorCode == "payload_too_large")
            let huge = try await client.push(unit: "finance-bureau", classification: "general", payload: Data(count: 2 * 1024 * 1024))
            #expect(huge.status == 413)
            #expect(try await client.get("/v1/whoami").status == 200)
        }
    }

    @Test func itemsSurviveARestartOfTheHub() async throws {
        let data = try Paths.temporaryDirectory("restart")
        let ids = try await TestHub.with(dataDirectory: data) { hub in try await pushOnePerLevel(hub) }
        try await TestHub.with(dataDirectory: data) { hub in
            for (level, id) in ids {
                let (payload, plaintext) = try await hub.client("stationed-transport").payload(id)
                #expect(payload.status == 200)
                #expect(plaintext == Data("\(level) payload 内容".utf8))
            }
        }
    }

    @Test(.sqliteFile) func theDatabaseFileNeverHoldsAConfidentialPayloadOrTitleInPlaintext() async throws {
        let data = try Paths.temporaryDirectory("plaintext")
        let secret = "CONFIDENTIAL-MARKER-\(UUID().uuidString)"
        let secretTitle = "机密标题-\(UUID().uuidString)"
        let secretPerson = "某某某-\(UUID().uuidString)"
        let open = "GENERAL-MARKER-\(UUID().uuidString)"
        try await TestHub.with(dataDirectory: data) { hub in
            let client = try hub.client("stationed-finance")
            let confidential = try await client.push(title: secretTitle, unit: "finance-bureau", classification: "confidential", payload: Data(secret.utf8),
                                                     overrides: ["persons": [secretPerson], "tags": ["工程-\(secretPerson)"]])
            let general = try await client.push(title: open, unit: "finance-bureau", classification: "general", payload: Data(open.utf8))
            #expect(confidential.status == 201 && general.status == 201)
            #expect(confidential.json["title"] as? String == secretTitle)
            // The owner still reads them, through the hub.
            let id = try #require(confidential.json["id"] as? String)
            let read = try await client.get("/v1/items/\(id)")
            #expect(read.json["title"] as? String == secretTitle)
            #expect(read.json["persons"] as? [String] == [secretPerson])
            let listed = try await client.get("/v1/items?classification=confidential")
            #expect((listed.json["items"] as? [[String: Any]])?.first?["title"] as? String == secretTitle)
        }
        let bytes = try RunningHub.sqliteContents(of: data)
        #expect(bytes.range(of: Data(open.utf8)) != nil, "sanity: general payloads and titles are stored as pushed")
        #expect(bytes.range(of: Data(secret.utf8)) == nil)
        #expect(bytes.range(of: Data(secretTitle.utf8)) == nil)
        #expect(bytes.range(of: Data(secretPerson.utf8)) == nil)
    }

    @Test(.sqliteFile) func aTamperedCiphertextIsAnIntegrityErrorForThatItemOnly() async throws {
        try await TestHub.with { hub in
            let client = try hub.client("stationed-finance")
            let bad = try #require(try await client.push(unit: "finance-bureau", classification: "confidential").json["id"] as? String)
            let good = try #require(try await client.push(unit: "finance-bureau", classification: "confidential").json["id"] as? String)
            let queue = try DatabaseQueue(path: hub.dataDirectory + "/liaison.sqlite")
            try await queue.write { db in
                try db.execute(sql: "UPDATE payload SET bytes = zeroblob(length(bytes)) WHERE item_id = ?", arguments: [bad])
            }
            let broken = try await client.get("/v1/items/\(bad)/payload")
            #expect(broken.status == 500)
            #expect(broken.errorCode == "integrity")
            try await queue.write { db in
                try db.execute(sql: "UPDATE item SET sealed_meta = zeroblob(length(sealed_meta)) WHERE id = ?", arguments: [bad])
            }
            let metadata = try await client.get("/v1/items/\(bad)")
            #expect(metadata.status == 500 && metadata.errorCode == "integrity")
            #expect(try await client.get("/v1/items/\(good)").json["title"] as? String == "月度监督报告")
            #expect(try await client.payload(good).plaintext == Data("payload".utf8))
            // A listing shows the damaged item as a stub that says so, and every other item whole.
            let listed = try await client.get("/v1/items?classification=confidential")
            #expect(listed.status == 200)
            let byID = Dictionary(uniqueKeysWithValues: (listed.json["items"] as? [[String: Any]] ?? []).map { ($0["id"] as! String, $0) })
            #expect(byID[bad]?["integrity_error"] as? Bool == true && byID[bad]?["title"] == nil)
            #expect(byID[good]?["title"] as? String == "月度监督报告" && byID[good]?["integrity_error"] == nil)
        }
    }

    @Test func explainTellsTheRuleAndIsLimitedToOneselfUnlessAuditor() async throws {
        try await TestHub.with { hub in
            let ids = try await pushOnePerLevel(hub)
            let own = try await hub.client("office-3").get("/v1/policy/explain?principal=office-3&item=\(ids["restricted"]!)")
            #expect(own.status == 200)
            #expect(own.json["access"] as? String == "read")
            #expect(own.json["reason"] as? String == "restricted items are readable by owner-office: office-3 is the office that leads stationed-transport, the owner")
            let other = try await hub.client("office-3").get("/v1/policy/explain?principal=inspection-2&item=\(ids["restricted"]!)")
            #expect(other.status == 403)
            let auditor = try await hub.client("zhao.lei").get("/v1/policy/explain?principal=office-5&item=\(ids["general"]!)")
            #expect(auditor.status == 200)
            #expect(auditor.json["access"] as? String == "hidden")
        }
    }
}

import LiaisonCrypto

func sha256Hex(_ data: Data) -> String { Digest.sha256Hex(data) }
