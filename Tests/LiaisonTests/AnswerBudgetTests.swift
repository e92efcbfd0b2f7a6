import Foundation
import LiaisonHub
import LiaisonServer
import Testing

/// Large answers hold at most the answer budget while readers take them: 200 connections that asked for a 16 MB
/// payload and read nothing held 3.2 GB of hub memory before (360 MB with the default budget).
@Suite("Answer budget")
struct AnswerBudgetTests {
    /// Waits up to `seconds` for `condition`, polling.
    static func eventually(within seconds: Double, _ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while !condition() {
            guard ContinuousClock.now < deadline else { return false }
            try await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    static func pattern(_ count: Int, _ seed: UInt8) -> Data { Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) &+ seed }) }

    /// An item's id and payload.
    typealias Pushed = (id: String, payload: Data)

    /// Three items `owner` pushes about `unit`: one of `whole` bytes as JSON (kept whole), one of `streamed` bytes streamed
    /// (kept in chunks), and one of 4 KiB, which no budget counts.
    static func pushLargeAndSmall(by owner: TestClient, unit: String, whole: Int, streamed: Int, seed: UInt8) async throws
        -> (whole: Pushed, streamed: Pushed, small: Pushed) {
        let (wholePayload, streamedPayload, smallPayload) = (pattern(whole, seed), pattern(streamed, seed &+ 1), pattern(4096, seed &+ 2))
        let wholeID = try #require(try await owner.push(unit: unit, classification: "general", payload: wholePayload).json["id"] as? String)
        let streamedID = try #require(try await owner.pushStreamed([UInt8](streamedPayload), unit: unit, classification: "general").json["id"] as? String)
        let smallID = try #require(try await owner.push(unit: unit, classification: "general", payload: smallPayload).json["id"] as? String)
        return ((wholeID, wholePayload), (streamedID, streamedPayload), (smallID, smallPayload))
    }

    /// A reader who asked for an 8 MiB payload and reads nothing holds it in the least budget (one largest payload):
    /// meanwhile another large read is refused (503 busy, Retry-After) before it is read or recorded, small reads go on,
    /// and once the holder has its answer the budget is whole again and the refused read goes through. Both ways an
    /// answer is written. (The kernel takes up to 4 MiB of an answer into the socket's send buffer on loopback, so the
    /// payload is larger: what the kernel holds, the hub does not.)
    @Test(arguments: [true, false]) func aReaderWhoTakesALargeAnswerSlowlyHoldsOnlyItsShare(fastLane: Bool) async throws {
        let limits = HubLimits(payloadBytes: 8 << 20, answerBudgetBytes: 0)
        try await TestHub.with(limits: limits, configure: { $0.fastLane = fastLane }) { hub in
            let budget = hub.hub.answers
            #expect(budget.limit == (8 << 20) + (64 << 10))
            let pushed = try await Self.pushLargeAndSmall(by: try hub.client("stationed-finance"), unit: "finance-bureau", whole: 8 << 20, streamed: 5 << 20, seed: 1)
            let ((wholeID, whole), (streamedID, streamed), (smallID, small)) = (pushed.whole, pushed.streamed, pushed.small)

            let go = try Paths.temporaryDirectory("go") + "/go"
            let holder = Task { try await PipeliningClient.run(hub, as: "office-3", path: "/v1/items/\(wholeID)/payload", count: 1, pause: 60, go: go,
                                                                 receiveBuffer: 16 << 10) }
            #expect(try await Self.eventually(within: 8) { budget.held == whole.count }, "held \(budget.held)")
            let reader = try hub.client("office-3")
            for id in [streamedID, wholeID] {
                let refused = try await reader.get("/v1/items/\(id)/payload")
                #expect(refused.status == 503 && (refused.json["error"] as? [String: Any])?["code"] as? String == "busy", "\(refused.status) \(refused.text.prefix(200))")
                #expect(refused.headers.first(name: "Retry-After") == "1")
            }
            let smallRead = try await reader.payload(smallID)
            #expect(smallRead.response.status == 200 && smallRead.plaintext == small)
            #expect(try await reader.get("/v1/items/\(streamedID)").status == 200)

            #expect(budget.held == whole.count, "the holder's answer left the hub before its reader took it")
            FileManager.default.createFile(atPath: go, contents: nil)
            let outcome = try await holder.value
            #expect(outcome.statuses == [200] && outcome.sizes == [whole.count] && !outcome.closed, "\(outcome)")
            #expect(try await Self.eventually(within: 5) { budget.held == 0 }, "held \(budget.held) after the answer left")
            for (id, payload) in [(streamedID, streamed), (wholeID, whole)] {
                let read = try await reader.payload(id)
                #expect(read.response.status == 200 && read.plaintext == payload, "\(read.response.status)")
            }
            #expect(try await Self.eventually(within: 5) { budget.held == 0 })
            let outcomes = try await hub.texts("SELECT outcome FROM audit WHERE action = 'getItemPayload' ORDER BY seq")
            #expect(outcomes == ["ok", "refused", "refused", "ok", "ok", "ok"], "\(outcomes)")
        }
    }

    /// Every large answer takes its share before anything is read or recorded: a streamed or large payload, the compact
    /// trail, a dossier's bundle, a dossier's manifest over 1 MiB. Small ones take none. With the budget spent, each
    /// large one is refused; given back, each goes through, and gives its share back once sent.
    @Test func everyLargeAnswerTakesItsShareFirst() async throws {
        var limits = HubLimits(payloadBytes: 3 << 20, answerBudgetBytes: 0)
        limits.titleCharacters = 100_000
        try await TestHub.with(limits: limits) { hub in
            let budget = hub.hub.answers
            let owner = try hub.client("stationed-transport")
            let pushed = try await Self.pushLargeAndSmall(by: owner, unit: "transport-bureau", whole: 2 << 20, streamed: 3 << 20, seed: 4)
            let ((wholeID, whole), (streamedID, streamed), (smallID, small)) = (pushed.whole, pushed.streamed, pushed.small)
            // Twelve items with titles of 100,000 characters: the dossier's manifest is over 1 MiB.
            for index in 0..<12 {
                let long = try await owner.push(title: String(repeating: "巡", count: 100_000 - 2) + "\(index / 10)\(index % 10)", unit: "transport-bureau", classification: "general")
                #expect(long.status == 201, "\(long.text.prefix(200))")
            }
            let dossier = try await hub.client("inspection-2").send(.POST, "/v1/dossiers", body: Data(#"{"unit":"transport-bureau","reason":"第二轮巡察"}"#.utf8))
            let dossierID = try #require(dossier.json["id"] as? String, "\(dossier.text)")
            let reader = try hub.client("office-3")
            let auditor = try hub.client("zhao.lei")
            let team = try hub.client("inspection-2")
            let large: [(String, () async throws -> TestClient.Response)] = [
                ("whole payload", { try await reader.get("/v1/items/\(wholeID)/payload") }),
                ("streamed payload", { try await reader.get("/v1/items/\(streamedID)/payload") }),
                ("compact trail", { try await auditor.get("/v1/audit/chain?after=0") }),
                ("dossier bundle", { try await team.send(.POST, "/v1/dossiers/\(dossierID)/payloads") }),
                ("dossier manifest", { try await team.get("/v1/dossiers/\(dossierID)") }),
            ]

            var taken: ByteBudget.Hold? = try? budget.hold(budget.limit - (64 << 10))
            #expect(taken != nil)
            for (what, read) in large {
                let refused = try await read()
                #expect(refused.status == 503 && (refused.json["error"] as? [String: Any])?["code"] as? String == "busy", "\(what): \(refused.status) \(refused.text.prefix(200))")
            }
            let smallRead = try await reader.payload(smallID)
            #expect(smallRead.response.status == 200 && smallRead.plaintext == small)
            let refusals = try await hub.texts("SELECT action FROM audit WHERE outcome = 'refused' ORDER BY seq")
            #expect(refusals == ["getItemPayload", "getItemPayload", "getAuditChain", "pullDossier", "getDossier"], "\(refusals)")

            taken = nil
            #expect(budget.held == 0)
            for (what, read) in large {
                let answer = try await read()
                #expect(answer.status == 200, "\(what): \(answer.status) \(answer.text.prefix(200))")
            }
            #expect(try await reader.payload(wholeID).plaintext == whole)
            #expect(try await reader.payload(streamedID).plaintext == streamed)
            let manifest = try await team.get("/v1/dossiers/\(dossierID)")
            let titles = (manifest.json["items"] as? [[String: Any]] ?? []).compactMap { $0["title"] as? String }.filter { $0.count == 100_000 }
            #expect(manifest.body.count > 3 << 20 && titles.sorted() == (0..<12).map { String(repeating: "巡", count: 100_000 - 2) + "\($0 / 10)\($0 % 10)" },
                    "\(manifest.body.count) bytes, \(titles.count) long titles")
            let reads = try await hub.texts("SELECT outcome FROM audit WHERE action = 'getDossier' ORDER BY seq")
            #expect(reads == ["refused", "ok", "ok"], "\(reads)")
            #expect(try await Self.eventually(within: 5) { budget.held == 0 }, "held \(budget.held) after every answer left")
        }
    }

    /// The CLI tries a read the hub was too busy for again, after the Retry-After the hub gave, and says so: with the
    /// budget spent, `liaison get` is refused once (traced), then gets the payload once the budget is given back.
    @Test func theCLITriesABusyReadAgainAfterTheWaitTheHubAsks() async throws {
        try await TestHub.with(limits: HubLimits(payloadBytes: 2 << 20, answerBudgetBytes: 0)) { hub in
            let payload = Self.pattern(2 << 20, 7)
            let id = try #require(try await hub.client("stationed-finance").push(unit: "finance-bureau", classification: "general", payload: payload)
                .json["id"] as? String)
            let budget = hub.hub.answers
            var taken: ByteBudget.Hold? = try? budget.hold(budget.limit - (64 << 10))
            #expect(taken != nil)
            let out = try Paths.temporaryDirectory("cli-busy") + "/payload.bin"
            let get = Task {
                try await ProcessRunner.runAsync(Paths.binaries + "/liaison", ["get", id, "-o", out, "--as", "office-3"],
                                                 environment: ["LIAISON_DEV_CERTS": TestPKI.shared.directory, "LIAISON_URL": hub.baseURL])
            }
            // Given back once the CLI's first try has been refused.
            let deadline = ContinuousClock.now + .seconds(60)
            while try await !hub.texts("SELECT outcome FROM audit WHERE action = 'getItemPayload'").contains("refused"), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            taken = nil
            let result = try await get.value
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("the hub is busy (getItemPayload); trying again in 1 s"), "\(result.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == payload)
            #expect(try await hub.texts("SELECT outcome FROM audit WHERE action = 'getItemPayload' ORDER BY seq").first == "refused")
            #expect(try await hub.texts("SELECT outcome FROM audit WHERE action = 'getItemPayload' ORDER BY seq").last == "ok")
        }
    }

    /// One principal holds at most a quarter of the budget: with its share spent, its next large read is refused with a
    /// message that says so, while another principal's goes through; given back, its read goes through too.
    @Test func onePrincipalHoldsAtMostAQuarterOfTheBudget() async throws {
        try await TestHub.with(limits: HubLimits(payloadBytes: 1 << 20, answerBudgetBytes: 32 << 20)) { hub in
            let budget = hub.hub.answers
            #expect(budget.limit == 32 << 20 && budget.ownerLimit == 8 << 20)
            let owner = try hub.client("stationed-finance")
            let streamed = Self.pattern(3 << 20, 8)
            let id = try #require(try await owner.pushStreamed([UInt8](streamed), unit: "finance-bureau", classification: "general").json["id"] as? String)
            let reader = try hub.client("office-3")
            var taken: ByteBudget.Hold? = try budget.hold(7 << 20, by: "office-3")
            #expect(taken != nil && budget.held(by: "office-3") == 7 << 20)

            let refused = try await reader.get("/v1/items/\(id)/payload")
            let problem = refused.json["error"] as? [String: Any]
            #expect(refused.status == 503 && problem?["code"] as? String == "busy", "\(refused.status) \(refused.text.prefix(200))")
            #expect((problem?["message"] as? String)?.contains("as many large answers at once as one principal may (8 MiB of them)") == true, "\(refused.text)")
            let theOwners = try await owner.payload(id)
            #expect(theOwners.response.status == 200 && theOwners.plaintext == streamed)

            taken = nil
            #expect(budget.held(by: "office-3") == 0)
            let read = try await reader.payload(id)
            #expect(read.response.status == 200 && read.plaintext == streamed)
            #expect(try await Self.eventually(within: 5) { budget.held == 0 })
        }
    }
}
