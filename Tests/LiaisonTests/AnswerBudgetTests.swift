import Foundation
@testable import LiaisonHub
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

    /// A dossier's manifest over 1 MiB holds its share from before its items are read, at an estimate (512 bytes an
    /// item), then at its size once written, until a reader has taken it: refused (503 busy, before the read is
    /// recorded) when the estimate does not fit, and when the size does not.
    @Test func aLargeManifestHoldsItsEstimateWhileItIsMadeThenItsSize() async throws {
        var limits = HubLimits(payloadBytes: 12 << 20, answerBudgetBytes: 0)
        limits.titleCharacters = 4_000
        try await TestHub.with(limits: limits) { hub in
            let budget = hub.hub.answers
            #expect(budget.limit == (12 << 20) + (64 << 10))
            // 2,100 items with titles of 4,000 characters: an estimate of 1,075,200 bytes, a manifest of over 8 MB (more
            // than the kernel takes into a socket's buffer on loopback: what it holds, the hub does not).
            let owner = hub.hub.context(for: try #require(hub.hub.policy.principal("stationed-transport")))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        for index in stride(from: worker, to: 2_100, by: 8) {
                            _ = try await hub.hub.items.push(PushRequest(kind: "report", title: String(repeating: "t", count: 3_996) + String(10_000 + index).suffix(4),
                                                                         unit: "transport-bureau", classification: "general", contentType: "text/plain",
                                                                         payload: Array("报告".utf8)), in: owner)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let dossier = try await hub.client("inspection-2").send(.POST, "/v1/dossiers", body: Data(#"{"unit":"transport-bureau","reason":"第二轮巡察"}"#.utf8))
            let dossierID = try #require(dossier.json["id"] as? String, "\(dossier.text.prefix(200))")
            let team = try hub.client("inspection-2")

            // Through the hub's own call, the manifest written as the server writes it, its writings counted.
            let teamContext = hub.hub.context(for: try #require(hub.hub.policy.principal("inspection-2")))
            var written = 0
            func manifest() async throws -> DeliveredBody {
                try await hub.hub.dossiers.manifest(id: dossierID, in: teamContext) { view in
                    written += 1
                    return Array(repeating: UInt8(ascii: " "), count: view.items.count * 4_000)
                }
            }

            // The estimate does not fit: refused before the manifest is made.
            var taken: ByteBudget.Hold? = try budget.hold(budget.limit - (1 << 20))
            let beforeItsItems = try await team.get("/v1/dossiers/\(dossierID)")
            #expect(beforeItsItems.status == 503 && beforeItsItems.headers.first(name: "Retry-After") == "1", "\(beforeItsItems.status) \(beforeItsItems.text.prefix(200))")
            await #expect(throws: HubError.answersBusy) { try await manifest() }
            #expect(written == 0)
            // The estimate fits, the manifest written does not: refused, and what the estimate took is given back.
            taken = nil
            taken = try budget.hold(budget.limit - (3 << 19))
            await #expect(throws: HubError.answersBusy) { try await manifest() }
            #expect(written == 1 && budget.held == budget.limit - (3 << 19))
            taken = nil
            #expect(budget.held == 0 && taken == nil)

            // A reader who reads nothing holds the manifest's size, until it has taken it.
            let go = try Paths.temporaryDirectory("go") + "/go"
            let holder = Task { try await PipeliningClient.run(hub, as: "inspection-2", path: "/v1/dossiers/\(dossierID)", count: 1, pause: 60, go: go,
                                                                 receiveBuffer: 16 << 10) }
            #expect(try await Self.eventually(within: 10) { budget.held > 8_000_000 }, "held \(budget.held)")
            let heldUnread = budget.held
            FileManager.default.createFile(atPath: go, contents: nil)
            let outcome = try await holder.value
            #expect(outcome.statuses == [200] && outcome.sizes == [heldUnread] && heldUnread > 8_000_000, "\(outcome), held \(heldUnread)")
            #expect(try await Self.eventually(within: 5) { budget.held == 0 }, "held \(budget.held) after the manifest left")
            let read = try await team.get("/v1/dossiers/\(dossierID)")
            #expect(read.body.count == heldUnread && (read.json["items"] as? [Any])?.count == 2_100)
            let outcomes = try await hub.texts("SELECT outcome FROM audit WHERE action = 'getDossier' ORDER BY seq")
            #expect(outcomes == ["refused", "refused", "refused", "ok", "ok"], "\(outcomes)")
        }
    }

    /// An access request over 1 MiB (a dossier's, naming thousands of withheld items) holds its share while it is made and
    /// sent, as a manifest does: refused (503 busy, before the read is recorded) when its estimate does not fit.
    @Test func aLargeRequestHoldsItsShareWhileItIsSent() async throws {
        try await TestHub.with(limits: HubLimits(payloadBytes: 2 << 20, answerBudgetBytes: 0)) { hub in
            let budget = hub.hub.answers
            // 4,000 restricted items the team cannot read: its dossier's request names them all (about 1.2 MB).
            let owner = hub.hub.context(for: try #require(hub.hub.policy.principal("stationed-transport")))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        for _ in stride(from: worker, to: 4_000, by: 8) {
                            _ = try await hub.hub.items.push(PushRequest(kind: "report", title: "线索", unit: "transport-bureau", classification: "restricted",
                                                                         contentType: "text/plain", payload: Array("报告".utf8)), in: owner)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let team = try hub.client("inspection-2")
            let dossier = try await team.send(.POST, "/v1/dossiers", body: Data(#"{"unit":"transport-bureau","reason":"第二轮巡察"}"#.utf8))
            let requestID = try #require(dossier.json["request_id"] as? String, "\(dossier.text.prefix(200))")

            var taken: ByteBudget.Hold? = try budget.hold(budget.limit - (1 << 20))
            let refused = try await team.get("/v1/requests/\(requestID)")
            #expect(refused.status == 503 && refused.errorCode == "busy" && refused.headers.first(name: "Retry-After") == "1", "\(refused.status) \(refused.text.prefix(200))")
            taken = nil
            #expect(budget.held == 0 && taken == nil)
            let read = try await team.get("/v1/requests/\(requestID)")
            #expect(read.status == 200 && read.body.count > 1 << 20 && (read.json["items"] as? [Any])?.count == 4_000, "\(read.status) \(read.body.count)")
            #expect(try await Self.eventually(within: 5) { budget.held == 0 }, "held \(budget.held) after the request left")
            let outcomes = try await hub.texts("SELECT outcome FROM audit WHERE action = 'getRequest' ORDER BY seq")
            #expect(outcomes == ["refused", "ok"], "\(outcomes)")
        }
    }

    /// A hold resized takes more only when it fits, in the budget and in its owner's share (nothing changes when it does
    /// not), and gives back what it no longer needs.
    @Test func aHoldResizesWithinTheBudgetAndItsOwnersShare() throws {
        let budget = ByteBudget(limit: 100, ownerLimit: 40)
        let hold = try budget.hold(10, by: "a")
        try hold.resize(to: 40)
        #expect(hold.bytes == 40 && budget.held == 40 && budget.held(by: "a") == 40)
        #expect(throws: ByteBudget.Shortfall.owner) { try hold.resize(to: 41) }
        #expect(hold.bytes == 40 && budget.held == 40 && budget.held(by: "a") == 40)
        try hold.resize(to: 5)
        #expect(hold.bytes == 5 && budget.held == 5 && budget.held(by: "a") == 5)
        let others = [try budget.hold(40, by: "b"), try budget.hold(40, by: "c")]
        #expect(throws: ByteBudget.Shortfall.budget) { try hold.resize(to: 25) }
        #expect(hold.bytes == 5 && budget.held == 85)
        try hold.resize(to: 20)
        #expect(budget.held == 100 && others.count == 2)
    }

    /// A whole answer over 1 MiB holds its size, a manifest held at its estimate holds its size once written (less, or
    /// more), and an answer larger than one principal's share holds the share: it can still be sent, one at a time.
    @Test func aWholeAnswerHoldsItsSizeAtMostOneShare() async throws {
        let budget = ByteBudget(limit: 8 << 20, ownerLimit: 2 << 20)
        func sent(_ body: DeliveredBody) async throws -> Int {
            guard case .streamed(let stream) = body else { return -1 }
            return try await stream.gathered().count
        }
        var body: DeliveredBody? = try DeliveredBody.whole(Array(repeating: 1, count: 3 << 20)).held(in: budget, for: "a")
        #expect(budget.held(by: "a") == 2 << 20)
        #expect(try await sent(body!) == 3 << 20)
        body = nil
        #expect(budget.held == 0)
        // Each estimate is let go of as the hub's call lets go of it: only the body keeps it then.
        var estimate: ByteBudget.Hold?
        for size in [(1 << 20) + 300_000, (1 << 20) + 700_000] {
            estimate = try budget.hold((1 << 20) + 500_000, by: "a")
            body = try DeliveredBody.whole(Array(repeating: 2, count: size)).held(in: budget, for: "a", taken: estimate)
            estimate = nil
            #expect(budget.held(by: "a") == size && budget.held == size)
            #expect(try await sent(body!) == size)
            body = nil
            #expect(budget.held == 0)
        }
        estimate = try budget.hold((1 << 20) + 500_000, by: "a")
        body = try DeliveredBody.whole(Array(repeating: 3, count: 1 << 20)).held(in: budget, for: "a", taken: estimate)
        estimate = nil
        guard case .whole(let bytes) = body else { Issue.record("a 1 MiB answer was not left whole"); return }
        #expect(bytes.count == 1 << 20 && budget.held == 0 && estimate == nil)
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
