import Foundation
import LiaisonCore
@testable import LiaisonHub
import Testing

/// Pre-inspection dossiers over mTLS with the example policy: who may build one, what it holds,
/// withheld items becoming readable through approvals, and pulling it twice with the CLI.
@Suite("Dossiers")
struct DossierTests {
    /// A unit with items at every level from several agencies; returns ids by name.
    func populate(_ hub: RunningHub) async throws -> [String: String] {
        var ids: [String: String] = [:]
        let pushes: [(String, String, String, String, [String: Any])] = [
            ("st-general", "stationed-transport", "report", "general", ["persons": ["张三"], "tags": ["道路工程"]]),
            ("st-restricted", "stationed-transport", "report", "restricted", ["persons": ["张三", "李四"]]),
            ("st-confidential", "stationed-transport", "integrity-file", "confidential", ["persons": ["李四"]]),
            ("st-lead", "stationed-transport", "lead", "general", ["persons": ["张三"], "tags": ["道路工程"]]),
            ("o3-general", "office-3", "analysis", "general", ["tags": ["道路工程"]]),
            ("o3-feedback", "office-3", "feedback", "general", [:]),
            ("commission-confidential", "commission", "petition", "confidential", [:]),
        ]
        for (name, pusher, kind, level, extra) in pushes {
            let response = try await hub.client(pusher).push(kind: kind, title: "\(name) 标题", unit: "transport-bureau", classification: level,
                                                             payload: Data("\(name) 内容".utf8), overrides: extra)
            ids[name] = try #require(response.json["id"] as? String, "\(response.text)")
        }
        let rectified = try await hub.client("stationed-transport").push(kind: "rectification", title: "整改报告", unit: "transport-bureau", classification: "general",
                                                                       overrides: ["answers": ids["o3-feedback"]!])
        ids["rectification"] = try #require(rectified.json["id"] as? String, "\(rectified.text)")
        return ids
    }

    func create(_ hub: RunningHub, as principal: String, unit: String = "transport-bureau") async throws -> TestClient.Response {
        try await hub.client(principal).send(.POST, "/v1/dossiers", body: try JSONSerialization.data(withJSONObject: ["unit": unit, "reason": "第二轮巡察"]))
    }

    @Test func onlyAnAssignedTeamWithinItsWindowOrLeadTimeBuildsOne() async throws {
        let clock = TestClock()
        try await TestHub.with(clock: clock) { hub in
            let notTeam = try await create(hub, as: "office-3")
            #expect(notTeam.status == 403 && notTeam.errorCode == "not_an_inspection_team")
            let unassigned = try await create(hub, as: "inspection-2", unit: "health-commission")
            #expect(unassigned.status == 403 && unassigned.errorMessage == "inspection-2 is not assigned to inspect health-commission")
            clock.set(TestClock.afterWindow)
            let closed = try await create(hub, as: "inspection-2")
            #expect(closed.status == 403 && closed.errorCode == "window_closed" && closed.errorMessage == "inspection-2's window on transport-bureau closed on 2027-12-31")
            clock.set(DateWindow.dayForTests("2026-09-01"))
            let early = try await create(hub, as: "inspection-2")
            #expect(early.status == 403 && early.errorMessage == "inspection-2's window on transport-bureau opens on 2026-11-01, more than 30d from now")
            clock.set(DateWindow.dayForTests("2026-10-15"))  // 17 days before the window: within the lead time
            #expect(try await create(hub, as: "inspection-2").status == 201)
            let noReason = try await hub.client("inspection-2").send(.POST, "/v1/dossiers", body: Data(#"{"unit":"transport-bureau"}"#.utf8))
            #expect(noReason.status == 400 && noReason.errorField == "reason")
            let unknownUnit = try await create(hub, as: "inspection-2", unit: "moon-bureau")
            #expect(unknownUnit.status == 400 && unknownUnit.errorField == "unit" && unknownUnit.errorMessage == "unknown unit 'moon-bureau'")
            let noUnit = try await hub.client("inspection-2").send(.POST, "/v1/dossiers", body: Data(#"{"reason":"r"}"#.utf8))
            #expect(noUnit.status == 400 && noUnit.errorField == "unit")
            #expect(try await hub.client("inspection-2").get("/v1/dossiers/0000000000000000").status == 404)
            let rectification = try await hub.client("office-3").get("/v1/rectification?unit=moon-bureau")
            #expect(rectification.status == 400 && rectification.errorField == "unit")
        }
    }

    @Test func theDossierHoldsWhatTheTeamMayReadStubsOfTheRestAndOneRequest() async throws {
        try await TestHub.with { hub in
            let ids = try await populate(hub)
            let created = try await create(hub, as: "inspection-2")
            #expect(created.status == 201, "\(created.text)")
            #expect(created.json["readable"] as? Int == 5 && created.json["withheld"] as? Int == 3)
            // Building answers with counts and the summary; reading the dossier lists its items.
            #expect(created.json["items"] == nil && created.json["summary"] is [String: Any])
            let requestID = try #require(created.json["request_id"] as? String)
            let dossierID = try #require(created.json["id"] as? String)
            #expect(created.json["request_status"] as? String == "pending")
            let request = try await hub.client("inspection-2").get("/v1/requests/\(requestID)")
            #expect(Set((request.json["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String })
                    == [ids["st-restricted"]!, ids["st-confidential"]!, ids["commission-confidential"]!])

            let dossier = try await hub.client("inspection-2").get("/v1/dossiers/\(dossierID)")
            let items = dossier.json["items"] as? [[String: Any]] ?? []
            #expect(items.count == 8 && items.filter { $0["access"] as? String == "withheld" }.count == 3)
            #expect(items.filter { $0["access"] as? String == "withheld" }.allSatisfy { $0["title"] == nil })
            let summary = try #require(dossier.json["summary"] as? [String: Any])
            #expect(summary["by_level"] as? [String: Int] == ["general": 5, "restricted": 1, "confidential": 2])
            #expect(summary["by_kind"] as? [String: Int] == ["report": 2, "integrity-file": 1, "lead": 1, "analysis": 1, "feedback": 1, "petition": 1, "rectification": 1])
            // Only readable items count: 张三 is in two readable items (李四 only in withheld ones).
            let persons = summary["persons"] as? [[String: Any]] ?? []
            #expect(persons.map { $0["name"] as? String } == ["张三"])
            #expect(Set(persons.first?["items"] as? [String] ?? []) == [ids["st-general"]!, ids["st-lead"]!])
            // Who names them, and how many withheld items name them too (the restricted report; its title and names unshown).
            #expect(persons.first?["agencies"] as? [String] == ["stationed-transport"])
            #expect(persons.first?["withheld"] as? Int == 1)
            #expect((summary["tags"] as? [[String: Any]])?.first?["name"] as? String == "道路工程")
            #expect((summary["open_leads"] as? [[String: Any]])?.map { $0["id"] as? String } == [ids["st-lead"]!])
            let feedback = try #require((summary["feedback"] as? [[String: Any]])?.first)
            #expect(feedback["id"] as? String == ids["o3-feedback"]! && feedback["rectified"] as? Bool == true && feedback["rectification"] as? String == ids["rectification"]!)
            #expect(try await hub.client("office-3").get("/v1/dossiers/\(dossierID)").status == 404)
        }
    }

    /// A client names at most `requestItems` items per request; the dossier's own request names every withheld item however many.
    @Test func theDossierRequestNamesEveryWithheldItemBeyondTheLimitOnClientRequests() async throws {
        var limits = HubLimits()
        limits.requestItems = 2
        try await TestHub.with(limits: limits) { hub in
            let ids = try await populate(hub)
            let withheld = [ids["st-restricted"]!, ids["st-confidential"]!, ids["commission-confidential"]!]
            let byHand = try await hub.client("inspection-2").send(.POST, "/v1/requests", body: try JSONSerialization.data(withJSONObject: [
                "items": withheld, "reason": "巡察", "duration": "7d"]))
            #expect(byHand.status == 400 && byHand.errorField == "items" && byHand.text.contains("3 items in one request"), "\(byHand.text)")
            let wholeUnit = try await hub.client("inspection-2").send(.POST, "/v1/requests", body: try JSONSerialization.data(withJSONObject: [
                "unit": "transport-bureau", "reason": "巡察", "duration": "7d"]))
            #expect(wholeUnit.status == 400 && wholeUnit.errorField == "unit" && wholeUnit.text.contains("more than 2 withheld items in transport-bureau")
                    && wholeUnit.text.contains("build an inspection dossier of the unit"), "\(wholeUnit.text)")
            let created = try await create(hub, as: "inspection-2")
            #expect(created.status == 201 && created.json["withheld"] as? Int == 3, "\(created.text)")
            let requestID = try #require(created.json["request_id"] as? String)
            let request = try await hub.client("inspection-2").get("/v1/requests/\(requestID)")
            #expect(Set((request.json["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }) == Set(withheld))
        }
    }

    @Test func pullingManyItemsWritesEachExactlyOnce() async throws {
        try await TestHub.with { hub in
            // Several times as many as the CLI fetches at once, of both kinds of payload it may be sent (plain, and CMS).
            var expected: [String: Data] = [:]
            for index in 0..<37 {
                // The team's own confidential items it reads (sealed to it); the stationed group's general ones too.
                let (pusher, level) = index % 3 == 0 ? ("inspection-2", "confidential") : ("stationed-transport", "general")
                let content = Data("条目 \(index) ".utf8) + Data(repeating: UInt8(index), count: index * 97)
                let pushed = try await hub.client(pusher).push(title: "第\(index)项", unit: "transport-bureau", classification: level, payload: content)
                expected[try #require(pushed.json["id"] as? String, "\(pushed.text)")] = content
            }
            // Two too large for the archive, fetched alone: general, and confidential (sealed to the team chunk by chunk).
            for (pusher, level) in [("stationed-transport", "general"), ("inspection-2", "confidential")] {
                let content = (0..<((1 << 20) + 4099)).map { UInt8(truncatingIfNeeded: $0 * 31) }
                let pushed = try await hub.client(pusher).pushStreamed(content, unit: "transport-bureau", classification: level, extra: [("Liaison-Content-Type", "text/plain")])
                expected[try #require(pushed.json["id"] as? String, "\(pushed.text)")] = Data(content)
            }
            let dossierID = try #require(try await create(hub, as: "inspection-2").json["id"] as? String)
            let folder = try Paths.temporaryDirectory("dossier-many") + "/out"
            // What a pull interrupted earlier left half-received is removed.
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: folder + "/.0123456789abcdef-标题.txt.partial-1f", contents: Data("半".utf8)))
            let pulled = try await ProcessRunner.runAsync(Paths.binaries + "/liaison", ["dossier", "pull", dossierID, "--out", folder, "--as", "inspection-2", "--json"],
                                                          environment: ["LIAISON_DEV_CERTS": TestPKI.shared.directory, "LIAISON_URL": hub.baseURL])
            #expect(pulled.status == 0, "\(pulled.stderr)")
            let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".txt") }
            #expect(files.count == expected.count && Set(files.map { String($0.prefix(16)) }) == Set(expected.keys), "\(files)")
            for file in files {
                #expect(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + file)) == expected[String(file.prefix(16))], "\(file)")
            }
            // Nothing half-written is left beside them, and the answer names each item once.
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder).allSatisfy { !$0.hasPrefix(".") })
            let answer = try #require(try JSONSerialization.jsonObject(with: Data(pulled.stdout.utf8)) as? [String: Any])
            #expect(Set((answer["fetched"] as? String ?? "").split(separator: ",").map(String.init)) == Set(expected.keys))
            // The small ones went in one archive: one trail entry of the dossier's reads, naming them all.
            let trail = try await hub.client("zhao.lei").get("/v1/audit?action=pullDossier")
            let entries = try #require(trail.json["entries"] as? [[String: Any]], "\(trail.text)")
            #expect(entries.count == 1 && Set(entries.first?["targets"] as? [String] ?? []).count == 38, "\(trail.text)")
        }
    }

    @Test func theArchiveOfPayloadsUnpacksWithStockTarAndItsEnvelopesOpenWithOpenSSL() async throws {
        try await TestHub.with { hub in
            let general = Data("一般 内容".utf8)
            let pushedGeneral = try await hub.client("stationed-transport").push(title: "一般", unit: "transport-bureau", classification: "general", payload: general)
            let generalID = try #require(pushedGeneral.json["id"] as? String, "\(pushedGeneral.text)")
            let secret = Data("机密 内容".utf8)
            let pushedSecret = try await hub.client("inspection-2").push(title: "机密", unit: "transport-bureau", classification: "confidential", payload: secret)
            let secretID = try #require(pushedSecret.json["id"] as? String, "\(pushedSecret.text)")
            // Larger than a bundle carries: it is fetched alone.
            let large = try await hub.client("stationed-transport").pushStreamed([UInt8](repeating: 7, count: (1 << 20) + 1), unit: "transport-bureau", classification: "general")
            let largeID = try #require(large.json["id"] as? String, "\(large.text)")
            // Withheld from the team until approved.
            let withheld = try await hub.client("stationed-transport").push(title: "保密", unit: "transport-bureau", classification: "confidential")
            let withheldID = try #require(withheld.json["id"] as? String, "\(withheld.text)")
            let dossierID = try #require(try await create(hub, as: "inspection-2").json["id"] as? String)
            let team = try hub.client("inspection-2")

            // Without a body: every readable payload up to 1 MiB, in the dossier's order, as `tar -x` unpacks it.
            let whole = try await team.send(.POST, "/v1/dossiers/\(dossierID)/payloads")
            #expect(whole.status == 200 && whole.headers.first(name: "Content-Type") == "application/x-tar", "\(whole.text)")
            let folder = try Paths.temporaryDirectory("dossier-tar")
            try whole.body.write(to: URL(fileURLWithPath: folder + "/payloads.tar"))
            let unpacked = try await ProcessRunner.runAsync("/usr/bin/tar", ["-xf", folder + "/payloads.tar", "-C", folder])
            #expect(unpacked.status == 0, "\(unpacked.stderr)")
            let names = Set(try FileManager.default.contentsOfDirectory(atPath: folder))
            #expect(names == ["payloads.tar", "\(generalID).txt", "\(secretID).txt.p7m"], "\(names)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(generalID).txt")) == general)
            let opened = try await ProcessRunner.runAsync("/usr/bin/openssl", ["cms", "-decrypt", "-inform", "DER", "-in", "\(folder)/\(secretID).txt.p7m", "-binary",
                                                                               "-recip", TestPKI.shared.certificate("inspection-2"), "-inkey", TestPKI.shared.key("inspection-2")])
            #expect(opened.status == 0 && opened.stdout == String(decoding: secret, as: UTF8.self), "\(opened.stderr)")
            let listed = try await ProcessRunner.runAsync("/usr/bin/tar", ["-tvf", folder + "/payloads.tar"])
            #expect(listed.stdout.split(separator: "\n").allSatisfy { $0.hasPrefix("-rw------- 0/0 ") }, "\(listed.stdout)")

            // Items asked for come in the order asked, each once.
            let asked = try await team.send(.POST, "/v1/dossiers/\(dossierID)/payloads", body: Data(#"{"items":["\#(secretID)","\#(generalID)","\#(secretID)"]}"#.utf8),
                                            headers: [("Content-Type", "application/json")])
            var reader = TarArchive.Reader(largestFile: 1 << 20)
            let files = try reader.take(asked.body)
            try reader.end()
            #expect(files.map(\.name) == ["\(secretID).txt.p7m", "\(generalID).txt"] && files[1].bytes == Array(general))
            let nothing = try await team.send(.POST, "/v1/dossiers/\(dossierID)/payloads", body: Data(#"{"items":[]}"#.utf8), headers: [("Content-Type", "application/json")])
            #expect(nothing.status == 200 && nothing.body == Data(count: 1024))

            // Each read is in the trail, naming the dossier and the item.
            let trail = try await hub.client("zhao.lei").get("/v1/audit?action=pullDossier&item=\(secretID)")
            let entries = try #require(trail.json["entries"] as? [[String: Any]], "\(trail.text)")
            #expect(entries.count == 2 && entries.allSatisfy { ($0["targets"] as? [String])?.first == dossierID && $0["actor"] as? String == "inspection-2" }, "\(trail.text)")

            // What cannot be sent is refused before anything is.
            func refusal(_ body: String, as principal: String = "inspection-2", dossier: String? = nil) async throws -> TestClient.Response {
                try await hub.client(principal).send(.POST, "/v1/dossiers/\(dossier ?? dossierID)/payloads", body: Data(body.utf8), headers: [("Content-Type", "application/json")])
            }
            let tooLarge = try await refusal(#"{"items":["\#(largeID)"]}"#)
            #expect(tooLarge.status == 400 && tooLarge.errorField == "items" && tooLarge.errorMessage.contains("larger") && ((tooLarge.json["error"] as? [String: Any])?["hint"] as? String)?.contains("GET /v1/items/\(largeID)/payload") == true, "\(tooLarge.text)")
            let stranger = try await refusal(#"{"items":["\#(generalID)","0123456789abcdef"]}"#)
            #expect(stranger.status == 400 && stranger.errorMessage == "item 0123456789abcdef is not in dossier \(dossierID)", "\(stranger.text)")
            let notYet = try await refusal(#"{"items":["\#(generalID)","\#(withheldID)"]}"#)
            #expect(notYet.status == 403 && notYet.errorMessage == "1 of the items asked for are withheld from you now: \(withheldID)", "\(notYet.text)")
            #expect(try await refusal(#"{"items":"all"}"#).status == 400)
            #expect(try await refusal("{}", as: "stationed-transport").status == 404)
            #expect(try await refusal("{}", dossier: "0123456789abcdef").status == 404)
            #expect(try await team.send(.GET, "/v1/dossiers/\(dossierID)/payloads").status == 405)

            // A payload damaged in the database is left out and the rest sent; the archive's last file names it, and
            // alone its read says why.
            try await hub.editDatabase(["UPDATE payload SET bytes = \(hub.storeKind == .sqlite ? "zeroblob(length(bytes))" : "decode(repeat('00', length(bytes)), 'hex')") WHERE item_id = '\(generalID)'"])
            let damaged = try await team.send(.POST, "/v1/dossiers/\(dossierID)/payloads", body: Data(#"{"items":["\#(generalID)","\#(secretID)"]}"#.utf8),
                                              headers: [("Content-Type", "application/json")])
            var rest = TarArchive.Reader(largestFile: 1 << 20)
            let restFiles = try rest.take(damaged.body)
            try rest.end()
            #expect(damaged.status == 200 && restFiles.map(\.name) == ["\(secretID).txt.p7m", "left-out.txt"])
            let leftOut = String(decoding: restFiles.last?.bytes ?? [], as: UTF8.self)
            #expect(leftOut.hasPrefix("The payloads of these items failed the hub's integrity check") && leftOut.hasSuffix(":\n\(generalID)\n"), "\(leftOut)")
            let alone = try await team.get("/v1/items/\(generalID)/payload")
            #expect(alone.status == 500 && alone.errorCode == "integrity", "\(alone.text)")
            let pulled = try await ProcessRunner.runAsync(Paths.binaries + "/liaison", ["dossier", "pull", dossierID, "--out", folder + "/pulled", "--as", "inspection-2"],
                                                          environment: ["LIAISON_DEV_CERTS": TestPKI.shared.directory, "LIAISON_URL": hub.baseURL])
            #expect(pulled.status != 0 && pulled.stderr.contains("the stored data of item \(generalID) failed its integrity check"), "\(pulled.stderr)")
        }
    }

    @Test func anArchiveIsMadeInSlicesOfBoundedItemsAndBytesInTheDossiersOrder() {
        var random = SplitMix(state: 64)
        // Mostly small, some up to the 1 MiB a bundled payload may have.
        let items = (0..<700).map { index in
            let size = index % 9 == 0 ? Int(random.next() % UInt64(DossierService.bundledPayloadLimit + 1)) : Int(random.next() % 5000)
            return Item(id: String(format: "01%014d", index), kind: "report", title: "t", unit: "transport-bureau", persons: [], tags: [], classification: .general,
                        owner: "office-3", pushedBy: "office-3", contentType: "text/plain", sha256: "00", size: size, createdAt: Date(timeIntervalSince1970: 0))
        }
        let slices = DossierService.slices(of: items)
        #expect(slices.flatMap { $0 }.map(\.id) == items.map(\.id))
        for slice in slices {
            #expect(!slice.isEmpty && slice.count <= DossierService.itemsPerSlice)
            #expect(slice.count == 1 || slice.reduce(0) { $0 + $1.size } <= DossierService.bytesPerSlice)
        }
        // Each slice is as full as the bounds let it be: the next one's first item did not fit.
        for (slice, next) in zip(slices, slices.dropFirst()) {
            #expect(slice.count == DossierService.itemsPerSlice || slice.reduce(0) { $0 + $1.size } + next[0].size > DossierService.bytesPerSlice)
        }
        #expect(DossierService.slices(of: []).isEmpty)
    }

    @Test func pullingTwiceFetchesOnlyWhatBecameReadable() async throws {
        try await TestHub.with { hub in
            let ids = try await populate(hub)
            let cli = Paths.binaries + "/liaison"
            let environment = ["LIAISON_DEV_CERTS": TestPKI.shared.directory, "LIAISON_URL": hub.baseURL]
            let made = try await ProcessRunner.runAsync(cli, ["dossier", "create", "--unit", "transport-bureau", "--reason", "巡察", "--as", "inspection-2"], environment: environment)
            #expect(made.stdout.hasPrefix("Dossier "), "\(made.stderr)")
            let dossierID = String(made.stdout.dropFirst("Dossier ".count).prefix(16))
            let folder = try Paths.temporaryDirectory("dossier") + "/out"
            let first = try await ProcessRunner.runAsync(cli, ["dossier", "pull", dossierID, "--out", folder, "--as", "inspection-2"], environment: environment)
            #expect(first.stdout.hasPrefix("Fetched 5 new item(s) into \(folder); 3 still withheld: "), "\(first.stderr)")
            let files = try FileManager.default.contentsOfDirectory(atPath: folder)
            #expect(files.count == 7 && files.contains("manifest.json") && files.contains("summary.md"))
            #expect(files.contains("\(ids["st-general"]!)-st-general-标题.txt"))
            let summary = try String(contentsOfFile: folder + "/summary.md", encoding: .utf8)
            #expect(summary.contains("| 张三 | ") && summary.contains(" | stationed-transport | 1 |\n") && summary.contains("| general | 5 |"))

            // Approvals arrive: the restricted item needs one, the confidential ones two with the commission.
            let request = try #require(try await hub.client("inspection-2").get("/v1/dossiers/\(dossierID)").json["request_id"] as? String)
            for approver in ["zhang.wei", "wang.fang", "li.na", "chen.jie"] {
                let reviewed = try await hub.client(approver).send(.POST, "/v1/requests/\(request)/approve", body: Data(#"{"comment":"同意"}"#.utf8))
                #expect(reviewed.status == 200, "\(approver): \(reviewed.text)")
            }
            #expect(try await hub.client("inspection-2").get("/v1/dossiers/\(dossierID)").json["request_status"] as? String == "approved")
            let second = try await ProcessRunner.runAsync(cli, ["dossier", "pull", dossierID, "--out", folder, "--as", "inspection-2"], environment: environment)
            #expect(second.stdout == "Fetched 3 new item(s) into \(folder); nothing is withheld.\n", "\(second.stderr)")
            let confidential = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).first { $0.hasPrefix(ids["st-confidential"]!) })
            #expect(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + confidential)) == Data("st-confidential 内容".utf8))
            #expect((try FileManager.default.attributesOfItem(atPath: folder + "/" + confidential)[.posixPermissions] as? Int) == 0o600)
            let third = try await ProcessRunner.runAsync(cli, ["dossier", "pull", dossierID, "--out", folder, "--as", "inspection-2"], environment: environment)
            #expect(third.stdout == "Fetched 0 new item(s) into \(folder); nothing is withheld.\n")
            let rectification = try await ProcessRunner.runAsync(cli, ["rectification", "--unit", "transport-bureau", "--as", "office-3"], environment: environment)
            #expect(rectification.stdout.contains(ids["o3-feedback"]!) && rectification.stdout.contains("yes") && rectification.stdout.contains(ids["rectification"]!))
        }
    }

    @Test func aTeamsFeedbackReachesTheUnitsStationedGroupAndItsOfficeWhoTrackTheRectification() async throws {
        try await TestHub.with { hub in
            let feedback = try await hub.client("inspection-2").push(kind: "feedback", title: "巡察反馈意见", unit: "transport-bureau", classification: "restricted")
            let id = try #require(feedback.json["id"] as? String, "\(feedback.text)")
            // The kind's rule: the group stationed in the unit and the office leading it read it without approval; others do not.
            for reader in ["stationed-transport", "wang.fang", "office-3", "zhang.wei"] {
                let read = try await hub.client(reader).get("/v1/items/\(id)")
                #expect(read.status == 200 && read.json["title"] as? String == "巡察反馈意见", "\(reader): \(read.text)")
            }
            #expect(try await hub.client("stationed-health").get("/v1/items/\(id)").status == 404)
            #expect(try await hub.client("office-5").get("/v1/items/\(id)").status == 404)
            let explained = try await hub.client("office-3").get("/v1/policy/explain?principal=office-3&item=\(id)")
            #expect(explained.json["reason"] as? String
                == "restricted feedback items (the rule of kind feedback) are readable by unit-office: office-3 leads stationed-transport, the stationed group in transport-bureau")

            let cli = Paths.binaries + "/liaison"
            let environment = ["LIAISON_DEV_CERTS": TestPKI.shared.directory, "LIAISON_URL": hub.baseURL]
            for supervisor in ["stationed-transport", "office-3"] {
                let open = try await ProcessRunner.runAsync(cli, ["rectification", "--unit", "transport-bureau", "--as", supervisor], environment: environment)
                #expect(open.status == 0 && open.stdout.contains(id) && open.stdout.contains("巡察反馈意见") && open.stdout.contains(" no "), "\(supervisor): \(open.stdout)\(open.stderr)")
            }
            let rectified = try await hub.client("stationed-transport").push(kind: "rectification", title: "整改进展", unit: "transport-bureau", classification: "restricted",
                                                                           overrides: ["answers": id])
            let rectification = try #require(rectified.json["id"] as? String, "\(rectified.text)")
            let done = try await ProcessRunner.runAsync(cli, ["rectification", "--unit", "transport-bureau", "--as", "office-3", "--json"], environment: environment)
            let list = try #require(try JSONSerialization.jsonObject(with: Data(done.stdout.utf8)) as? [String: Any])
            let entry = try #require((list["feedback"] as? [[String: Any]])?.first { $0["id"] as? String == id })
            #expect(entry["rectified"] as? Bool == true && entry["rectification"] as? String == rectification)
            let elsewhere = try await ProcessRunner.runAsync(cli, ["rectification", "--unit", "transport-bureau", "--as", "office-5"], environment: environment)
            #expect(elsewhere.stdout == "No feedback items about transport-bureau are readable to you.\n")
        }
    }

    @Test func aRectificationMustAnswerAFeedbackItem() async throws {
        try await TestHub.with { hub in
            let report = try #require(try await hub.client("stationed-transport").push(unit: "transport-bureau", classification: "general").json["id"] as? String)
            let client = try hub.client("stationed-transport")
            for (fields, message) in [([String: Any](), "a rectification names the feedback item it answers"),
                                      (["answers": report], "item \(report) is a report, not a feedback item"),
                                      (["answers": "0000000000000000"], "item 0000000000000000 does not exist or is not visible to you")] {
                let response = try await client.push(kind: "rectification", unit: "transport-bureau", classification: "general", overrides: fields)
                #expect(response.status == 400 && response.errorField == "answers" && response.errorMessage == message)
            }
            let stray = try await client.push(kind: "report", unit: "transport-bureau", classification: "general", overrides: ["answers": report])
            #expect(stray.status == 400 && stray.errorMessage == "only rectification items answer a feedback item")
        }
    }
}
