import Foundation
import Testing

/// The real `liaison` binary against a live hub.
@Suite("liaison CLI")
struct CLITests {
    var cli: String { Paths.binaries + "/liaison" }

    func liaison(_ hub: RunningHub?, _ arguments: [String], input: Data? = nil, url: String? = nil) async throws -> ProcessResult {
        var environment = ["LIAISON_DEV_CERTS": TestPKI.shared.directory]
        environment["LIAISON_URL"] = url ?? hub?.baseURL ?? "https://127.0.0.1:1"
        return try await ProcessRunner.runAsync(cli, arguments, environment: environment, input: input)
    }

    @Test func whoamiPushListShowAndGetWorkEndToEnd() async throws {
        try await TestHub.with { hub in
            let whoami = try await liaison(hub, ["whoami", "--as", "zhang.wei"])
            #expect(whoami.status == 0)
            #expect(whoami.stdout == "zhang.wei (张伟) acts for office-3, a office; roles: approver\n")

            let folder = try Paths.temporaryDirectory("cli")
            let file = folder + "/report.txt"
            let content = Data("交通运输局 十一月 日常监督情况\n".utf8)
            try content.write(to: URL(fileURLWithPath: file))
            let push = try await liaison(hub, ["push", file, "--kind", "report", "--title", "十一月报告", "--unit", "transport-bureau",
                                               "--classification", "confidential", "--tag", "道路工程", "--as", "stationed-transport"])
            #expect(push.status == 0, "\(push.stderr)")
            #expect(push.stdout.hasPrefix("Pushed "))
            let id = String(push.stdout.dropFirst("Pushed ".count).prefix(16))

            let list = try await liaison(hub, ["list", "--json", "--as", "stationed-transport"])
            let page = try JSONSerialization.jsonObject(with: list.stdoutData) as? [String: Any]
            let items = page?["items"] as? [[String: Any]]
            #expect(items?.map { $0["id"] as? String } == [id])
            #expect(items?.first?["content_type"] as? String == "text/plain")

            let table = try await liaison(hub, ["list", "--as", "office-3"])
            #expect(table.stdout.contains(id) && table.stdout.contains("(withheld: ask for access)"))
            #expect(!table.stdout.contains("十一月报告"))

            let show = try await liaison(hub, ["show", id, "--as", "stationed-transport"])
            #expect(show.stdout.contains("title          十一月报告"))

            let out = folder + "/fetched.txt"
            let get = try await liaison(hub, ["get", id, "-o", out, "--as", "stationed-transport"])
            #expect(get.status == 0, "\(get.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == content)
            #expect((try FileManager.default.attributesOfItem(atPath: out)[.posixPermissions] as? Int) == 0o600)

            let stdout = try await liaison(hub, ["get", id, "--as", "wang.fang"])
            #expect(stdout.stdoutData == content)
        }
    }

    @Test(arguments: ["general", "confidential"])
    func aLargeFileIsPushedStreamedAndFetchedIntoAFileByteForByte(level: String) async throws {
        try await TestHub.with { hub in
            let folder = try Paths.temporaryDirectory("cli-stream")
            let file = folder + "/scan.pdf"
            let content = Data(StreamedPayloadTests.payload(5 * (1 << 20) + 777))
            try content.write(to: URL(fileURLWithPath: file))
            let push = try await liaison(hub, ["push", file, "--kind", "report", "--title", "案卷扫描件", "--unit", "transport-bureau", "--classification", level,
                                               "--person", "张三", "--tag", "道路,工程", "--json", "--as", "stationed-transport"])
            #expect(push.status == 0, "\(push.stderr)")
            let item = try #require(try JSONSerialization.jsonObject(with: push.stdoutData) as? [String: Any])
            let id = try #require(item["id"] as? String)
            #expect(item["title"] as? String == "案卷扫描件")
            #expect(item["persons"] as? [String] == ["张三"] && item["tags"] as? [String] == ["道路,工程"])
            #expect(item["content_type"] as? String == "application/pdf")
            #expect(item["size"] as? Int == content.count)
            // It went streamed: kept in six chunks.
            #expect(try await hub.texts("SELECT CAST(count(*) AS TEXT) FROM payload_chunk WHERE item_id = '\(id)'") == ["6"])

            let out = folder + "/fetched.pdf"
            let get = try await liaison(hub, ["get", id, "-o", out, "--as", "wang.fang"])
            #expect(get.status == 0, "\(get.stderr)")
            #expect(get.stdout == "Wrote \(content.count) bytes of \(id) to \(out) (\(level == "confidential" ? "opened with your key, " : "")sha256 verified)\n")
            #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == content)
            #expect((try FileManager.default.attributesOfItem(atPath: out)[.posixPermissions] as? Int) == 0o600)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["fetched.pdf", "scan.pdf"], "no partial file is left")
        }
    }

    @Test func pushFromStandardInputWithAnExplicitKeyIsIdempotent() async throws {
        try await TestHub.with { hub in
            let arguments = ["push", "-", "--kind", "lead", "--title", "线索", "--unit", "finance-bureau", "--classification", "restricted",
                             "--idempotency-key", "cli-key-1", "--as", "stationed-finance"]
            let first = try await liaison(hub, arguments, input: Data("lead text".utf8))
            let second = try await liaison(hub, arguments, input: Data("lead text".utf8))
            #expect(first.stdout.hasPrefix("Pushed "))
            #expect(second.stdout.hasPrefix("Already pushed "))
            #expect(first.stdout.dropFirst("Pushed ".count).prefix(16) == second.stdout.dropFirst("Already pushed ".count).prefix(16))
        }
    }

    @Test func refusalsAndBadInputPrintTheHubsMessageAndExitNonZero() async throws {
        try await TestHub.with { hub in
            let push = try await liaison(hub, ["push", "-", "--kind", "report", "--title", "t", "--unit", "transport-bureau", "--classification", "confidential", "--as", "stationed-transport"],
                                         input: Data("x".utf8))
            let id = String(push.stdout.dropFirst("Pushed ".count).prefix(16))
            let refused = try await liaison(hub, ["get", id, "--as", "office-3"])
            #expect(refused.status == 3)
            #expect(refused.stderr.contains("you may not read the payload of item \(id) (403 forbidden)"))
            #expect(refused.stdout.isEmpty)

            let badKind = try await liaison(hub, ["push", "-", "--kind", "memo", "--title", "t", "--unit", "transport-bureau", "--classification", "general", "--as", "office-3"],
                                            input: Data("x".utf8))
            #expect(badKind.status == 3)
            #expect(badKind.stderr.contains("unknown kind 'memo' (400 invalid_field)"))
            #expect(badKind.stderr.contains("hint: Use a kind declared in the policy"))

            let stranger = try await liaison(hub, ["whoami", "--as", "stranger"])
            #expect(stranger.stderr.contains("the certificate's CN 'stranger' is not a principal declared in the policy"))
            #expect(stranger.status == 3)
            let missing = try await liaison(hub, ["show", "01NOSUCHITEM0000", "--as", "office-3"])
            #expect(missing.status == 4, "\(missing.stderr)")
            #expect(missing.stderr.contains("(404 not_found)"))

            // An empty id would be GET /v1/items/, the listing: it is a usage error before anything is sent.
            for command in [["show", ""], ["get", "a/b"], ["approve", "", "--comment", "ok"], ["dossier", "pull", "../x", "--out", "/tmp"]] {
                let odd = try await liaison(hub, command + ["--as", "office-3"])
                #expect(odd.status == 2, "\(command)")
                #expect(odd.stderr.contains("is not an id; ids are letters and digits"), "\(command): \(odd.stderr)")
            }
        }
    }

    @Test func auditExportShowsProgressOnATerminalOnlyAndNeverInItsOutput() async throws {
        try await TestHub.with { hub in
            for _ in 0..<5 { #expect(try await hub.client("office-3").push(unit: "transport-bureau", classification: "general").status == 201) }
            let folder = try Paths.temporaryDirectory("export-tty")
            // Standard error on a terminal (script(1) gives the command one), the export itself into a file.
            let command = "env LIAISON_DEV_CERTS=\(TestPKI.shared.directory) LIAISON_URL=\(hub.baseURL) \(cli) audit export --as zhao.lei > \(folder)/trail.jsonl"
            let onTerminal = try await ProcessRunner.runAsync("/usr/bin/script", ["-qec", command, folder + "/terminal.txt"])
            #expect(onTerminal.status == 0, "\(onTerminal.stdout)\(onTerminal.stderr)")
            let terminal = try String(contentsOfFile: folder + "/terminal.txt", encoding: .utf8)
            #expect(terminal.contains("exporting ["), "\(terminal)")
            #expect(terminal.contains(" entries"), "\(terminal)")
            let exported = try String(contentsOfFile: folder + "/trail.jsonl", encoding: .utf8).split(separator: "\n")
            #expect(exported.count >= 5)
            for line in exported { #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "not JSON: \(line)") }
            // Not on a terminal: nothing but the entries.
            let quiet = try await liaison(hub, ["audit", "export", "--as", "zhao.lei"])
            #expect(quiet.status == 0)
            #expect(quiet.stderr.isEmpty, "\(quiet.stderr)")
            // The first export's own reads of the trail are in the trail now, so the second has more entries.
            #expect(quiet.stdout.split(separator: "\n").count > exported.count)
        }
    }

    @Test func shellCompletionIsGeneratedForBashZshAndFish() async throws {
        for (shell, marker) in [("bash", "_liaison"), ("zsh", "#compdef liaison"), ("fish", "complete -c 'liaison'")] {
            let script = try await liaison(nil, ["--generate-completion-script", shell])
            #expect(script.status == 0, "\(shell): \(script.stderr)")
            #expect(script.stdout.contains(marker), "\(shell)")
            #expect(script.stdout.contains("dossier"), "\(shell): the subcommands are completed")
        }
    }

    @Test func theExitStatusesAreDocumentedInTheHelp() async throws {
        let help = try await liaison(nil, ["--help"])
        #expect(help.status == 0)
        let text = help.stdout.replacingOccurrences(of: "\n", with: " ")
        for status in ["0 done", "1 a check failed", "2 usage", "3 the hub refused", "4 not found (404)", "5 the hub could not be reached"] {
            #expect(text.contains(status), "\(status)")
        }
    }

    @Test func connectionProblemsSayWhatIsWrong() async throws {
        let closed = try await ProcessRunner.withClosedPort { port in try await liaison(nil, ["whoami", "--as", "office-3"], url: "https://127.0.0.1:\(port)") }
        #expect(closed.status == 5)
        #expect(closed.stderr.contains("nothing is listening at https://127.0.0.1:"))
        #expect(closed.stderr.contains("./scripts/run"))

        let missing = try await liaison(nil, ["whoami", "--cert", "/nonexistent.pem", "--key", "/nonexistent.key", "--ca", TestPKI.shared.ca])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("the client certificate (LIAISON_CERT / --cert) /nonexistent.pem does not exist"))

        try await TestHub.with { hub in
            let foreign = TestPKI.shared.foreignDirectory
            let wrongCA = try await liaison(hub, ["whoami", "--as", "office-3", "--ca", foreign + "/ca.pem"])
            #expect(wrongCA.status == 5)
            #expect(wrongCA.stderr.contains("the hub's certificate is not trusted by the CA file \(foreign)/ca.pem"))
            let foreignCert = try await liaison(hub, ["whoami", "--cert", foreign + "/office-3.pem", "--key", foreign + "/office-3.key", "--ca", TestPKI.shared.ca])
            #expect(foreignCert.status == 5)
            #expect(foreignCert.stderr.contains("the TLS handshake with") || foreignCert.stderr.contains("refused the client certificate"))
            let pki = TestPKI.shared
            let mismatch = try await liaison(hub, ["whoami", "--cert", pki.certificate("office-3"), "--key", pki.key("office-5"), "--ca", pki.ca])
            #expect(mismatch.status == 5)
            #expect(mismatch.stderr.contains("the private key \(pki.key("office-5")) does not belong to the certificate \(pki.certificate("office-3"))"), "\(mismatch.stderr)")
            let expired = try await liaison(hub, ["whoami", "--cert", pki.certificate("expired-agency"), "--key", pki.key("expired-agency"), "--ca", pki.ca])
            #expect(expired.status == 5)
            #expect(expired.stderr.contains("the hub refused the client certificate \(pki.certificate("expired-agency")): it has expired"), "\(expired.stderr)")
        }
    }

    @Test func policyCheckReportsEveryProblemOffline() async throws {
        let good = try await liaison(nil, ["policy", "check", Paths.policies])
        #expect(good.status == 0)
        #expect(good.stdout.contains("valid. 7 agencies, 6 people, 4 units, 7 kinds, 2 alert rules;"))

        let bad = try Paths.temporaryDirectory("check")
        try "units:\n  - id: u1\n    name: 单位\n    owner: x\nagencies:\n  - id: g\n    name: 组\n    type: stationed-group\n    units: [u2]\n"
            .write(toFile: bad + "/p.yaml", atomically: true, encoding: .utf8)
        let result = try await liaison(nil, ["policy", "check", bad])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(bad)/p.yaml:4:5: unknown key 'owner' in a unit"))
        #expect(result.stderr.contains("\(bad)/p.yaml:9:13: stationed group 'g' names unit 'u2', which is not declared"))
    }

    @Test func sealingRefusesAHubCertificateThatIsExpiredNotYetValidOrFromAnotherCA() async throws {
        try await TestHub.with { hub in
            let pki = TestPKI.shared
            for (certificate, reason) in [(pki.directory + "/expired-hub/hub.pem", "it expired on 2020-01-02"), (pki.directory + "/future-hub/hub.pem", "it is valid only from 2099-01-01"),
                                          (pki.foreignDirectory + "/hub.pem", "no chain leads from it to the CA")] {
                let result = try await liaison(hub, ["push", "-", "--kind", "lead", "--title", "t", "--unit", "transport-bureau", "--classification", "confidential",
                                                     "--seal", "--hub-cert", certificate, "--as", "stationed-transport"], input: Data("线索".utf8))
                #expect(result.status == 1, "\(certificate)")
                #expect(result.stderr.contains("the hub's certificate is not one your CA (\(pki.ca)) issued for 127.0.0.1 and valid now"), "\(result.stderr)")
                #expect(result.stderr.contains(reason), "\(certificate): \(result.stderr)")
            }
            let trusted = try await liaison(hub, ["push", "-", "--kind", "lead", "--title", "t", "--unit", "transport-bureau", "--classification", "confidential",
                                                  "--seal", "--hub-cert", pki.hubCertificate, "--as", "stationed-transport"], input: Data("线索".utf8))
            #expect(trusted.status == 0, "\(trusted.stderr)")
            let listed = try await hub.client("stationed-transport").get("/v1/items")
            #expect((listed.json["items"] as? [Any])?.count == 1, "only the push sealed to a trusted certificate was sent")
        }
    }

    @Test func policyCheckNamesAHugeGrantCapInsteadOfCrashing() async throws {
        let folder = try PolicyReloadTests.policyCopy()
        let path = folder + "/sharing.yaml"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try text.replacingOccurrences(of: "max_grant: 90d", with: "max_grant: 200000000000000d").write(toFile: path, atomically: true, encoding: .utf8)
        let line = text.components(separatedBy: "\n").firstIndex { $0.contains("max_grant: 90d") }! + 1
        let result = try await liaison(nil, ["policy", "check", folder])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(folder)/sharing.yaml:\(line):"), "\(result.stderr)")
        #expect(result.stderr.contains("'200000000000000d' is not a length of time"))
    }

    @Test func outOfRangeCLIArgumentsAreUsageErrors() async throws {
        for arguments in [["audit", "tail", "--lines", "-9223372036854775808"], ["watch", "--max-backoff", "9223372036854775807"],
                          ["list", "--limit", "99999999999999999999"]] {
            let result = try await liaison(nil, arguments + ["--as", "zhao.lei"])
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
        }
        let state = try Paths.temporaryDirectory("cursor") + "/cursor"
        try String(repeating: "9", count: 40).write(toFile: state, atomically: true, encoding: .utf8)
        let watch = try await liaison(nil, ["watch", "--state", state, "--as", "zhao.lei"])
        #expect(watch.status != 0 && watch.stderr.contains("does not hold a cursor"), "\(watch.stderr)")
    }

    @Test func policyExplainOfflineNamesTheRule() async throws {
        let result = try await liaison(nil, ["policy", "explain", "--principal", "inspection-2", "--owner", "stationed-transport", "--unit", "transport-bureau",
                                             "--classification", "general", "--at", "2027-03-01", "--policy", Paths.policies])
        #expect(result.status == 0)
        #expect(result.stdout == "inspection-2 may read the item: general items are readable by assigned-inspection-team: inspection-2 is assigned to transport-bureau and its window is open\n")
        let byKind = try await liaison(nil, ["policy", "explain", "--principal", "office-3", "--owner", "inspection-2", "--unit", "transport-bureau",
                                             "--classification", "general", "--kind", "feedback", "--policy", Paths.policies])
        #expect(byKind.stdout == "office-3 may read the item: general feedback items (the rule of kind feedback) are readable by unit-office: "
            + "office-3 leads stationed-transport, the stationed group in transport-bureau\n", "\(byKind.stderr)")
        let unknownKind = try await liaison(nil, ["policy", "explain", "--principal", "office-3", "--owner", "inspection-2", "--unit", "transport-bureau",
                                                  "--classification", "general", "--kind", "memo", "--policy", Paths.policies])
        #expect(unknownKind.status == 2 && unknownKind.stderr.contains("'memo' is not a kind declared in \(Paths.policies); declared: analysis, feedback"), "\(unknownKind.stderr)")
        let usage = try await liaison(nil, ["policy", "explain", "--principal", "inspection-2"])
        #expect(usage.status != 0)
        #expect(usage.stderr.contains("give either --item ID, or --owner, --unit and --classification"))
    }

    @Test func sealedPushRawGetAndKeyRotationFromTheCLI() async throws {
        try await TestHub.with { hub in
            let folder = try Paths.temporaryDirectory("cli-cms")
            let content = Data("经由代理的机密材料\n".utf8)
            let push = try await liaison(hub, ["push", "-", "--kind", "lead", "--title", "密封", "--unit", "health-commission", "--classification", "confidential",
                                               "--seal", "--as", "zhao.lei"], input: content)
            #expect(push.status == 0, "\(push.stderr)")
            let id = String(push.stdout.dropFirst("Pushed ".count).prefix(16))
            // zhao.lei (EC) acts for the commission, the owner: the hub opened the sealed intake and seals again on delivery.
            let plain = try await liaison(hub, ["get", id, "--as", "zhao.lei"])
            #expect(plain.stdoutData == content)
            let raw = folder + "/payload.der"
            let get = try await liaison(hub, ["get", id, "--raw", "-o", raw, "--as", "zhao.lei"])
            #expect(get.stdout.hasPrefix("Wrote the CMS envelope of \(id)"))
            #expect((try FileManager.default.attributesOfItem(atPath: raw)[.posixPermissions] as? Int) == 0o600)
            let opened = try await ProcessRunner.runAsync("/usr/bin/openssl", ["cms", "-decrypt", "-inform", "DER", "-in", raw, "-recip", TestPKI.shared.certificate("zhao.lei"),
                                                                                "-inkey", TestPKI.shared.key("zhao.lei"), "-binary"])
            #expect(opened.stdoutData == content)

            // --seal refuses a certificate the CA did not issue for the hub, and sends nothing.
            let untrusted = try await liaison(hub, ["push", "-", "--kind", "lead", "--title", "t", "--unit", "health-commission", "--classification", "general",
                                                    "--seal", "--hub-cert", TestPKI.shared.certificate("office-3"), "--as", "zhao.lei"], input: content)
            #expect(untrusted.status == 1)
            #expect(untrusted.stderr.contains("the hub's certificate is not one your CA"))

            let notAdmin = try await liaison(hub, ["keys", "rotate", "--as", "zhao.lei"])
            #expect(notAdmin.status == 3 && notAdmin.stderr.contains("only administrators of the commission may manage the key ring"))
            let rotate = try await liaison(hub, ["keys", "rotate", "--as", "sun.hao"])
            #expect(rotate.stdout.hasPrefix("Key version 2 is current; the hub is rewrapping 1 data key(s)"), "\(rotate.stderr)")
            let status = try await liaison(hub, ["keys", "--json", "--as", "sun.hao"])
            let parsed = try JSONSerialization.jsonObject(with: status.stdoutData) as? [String: Any]
            #expect(parsed?["current"] as? Int == 2)
        }
    }

    /// A request naming many items (a unit's, a dossier's) is shown to its approver as groups of level, owner, what is
    /// needed and who may approve, largest first; `--items` lists each item, as a short request is always listed.
    @Test func aLargeRequestIsShownInGroupsAndItsItemsOnRequest() async throws {
        try await TestHub.with { hub in
            let owner = try hub.client("stationed-transport")
            var ids: Set<String> = []
            for (count, level) in [(60, "restricted"), (2, "confidential")] {
                for index in 0..<count {
                    ids.insert(try #require(try await owner.push(title: "线索 \(index)", unit: "transport-bureau", classification: level).json["id"] as? String))
                }
            }
            let asked = try await liaison(hub, ["request", "--unit", "transport-bureau", "--reason", "巡视前了解情况", "--for", "7d", "--as", "inspection-2"])
            #expect(asked.status == 0, "\(asked.stderr)")
            let requestID = String(asked.stdout.dropFirst("Requested 62 item(s) for 7d as ".count).prefix(16))
            let json = try await liaison(hub, ["requests", "show", requestID, "--json", "--as", "zhang.wei"])
            let confidential = try #require(((try JSONSerialization.jsonObject(with: json.stdoutData) as? [String: Any])?["items"] as? [[String: Any]])?
                .first { $0["classification"] as? String == "confidential" })
            let commissionApprovers = try #require(confidential["eligible_approvers"] as? [String]).joined(separator: ", ")

            let show = try await liaison(hub, ["requests", "show", requestID, "--as", "zhang.wei"])
            #expect(show.status == 0, "\(show.stderr)")
            let lines = show.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
            let table = try #require(lines.firstIndex(of: "62 items, in groups (`liaison requests show \(requestID) --items` lists each one):"), "\(show.stdout)")
            #expect(Array(lines[(table + 1)...]) == ["ITEMS LEVEL OWNER NEEDS MAY APPROVE", "60 restricted stationed-transport 1 wang.fang, zhang.wei",
                                                     "2 confidential stationed-transport 2 (1 commission) \(commissionApprovers)"], "\(show.stdout)")
            let listed = try await liaison(hub, ["requests", "show", requestID, "--items", "--as", "zhang.wei"])
            let rows = listed.stdout.split(separator: "\n").filter { ids.contains(String($0.prefix(16))) }
            #expect(rows.count == 62 && Set(rows.map { String($0.prefix(16)) }) == ids, "\(listed.stdout)")
            #expect(rows.filter { $0.contains("线索") }.count == 60, "the approver sees restricted titles, not confidential ones")
        }
    }

    @Test func anApproverSeesWhatAwaitsThemAndDecidesFromTheCLI() async throws {
        try await TestHub.with { hub in
            let pushed = try await hub.client("stationed-transport").push(title: "路桥项目线索", unit: "transport-bureau", classification: "restricted",
                                                                          payload: Data("线索内容".utf8))
            let id = try #require(pushed.json["id"] as? String)
            let asked = try await liaison(hub, ["request", "--items", id, "--reason", "巡视前了解情况", "--for", "7d", "--as", "inspection-2"])
            #expect(asked.status == 0, "\(asked.stderr)")
            #expect(asked.stdout.hasPrefix("Requested 1 item(s) for 7d as "))
            #expect(asked.stdout.hasSuffix("; awaiting approval by wang.fang, zhang.wei.\n"))
            let requestID = String(asked.stdout.dropFirst("Requested 1 item(s) for 7d as ".count).prefix(16))

            let queue = try await liaison(hub, ["requests", "--as", "zhang.wei"])
            #expect(queue.stdout.contains(requestID) && queue.stdout.contains("inspection-2") && queue.stdout.contains("巡视前了解情况"))
            #expect(queue.stdout.contains("0 so far, 1 more needed"))
            let show = try await liaison(hub, ["requests", "show", requestID, "--as", "zhang.wei"])
            #expect(show.stdout.contains("路桥项目线索") && show.stdout.contains("wang.fang, zhang.wei"))
            let nothing = try await liaison(hub, ["requests", "--as", "li.na"])
            #expect(nothing.stdout == "Nothing awaits your review.\n")

            let missingComment = try await liaison(hub, ["approve", requestID, "--as", "zhang.wei"])
            #expect(missingComment.status != 0 && missingComment.stderr.contains("--comment"))
            let approve = try await liaison(hub, ["approve", requestID, "--comment", "同意", "--as", "zhang.wei"])
            #expect(approve.stdout.hasPrefix("Approved \(requestID): inspection-2 may read its 1 item(s) for 7d (grant "), "\(approve.stderr)")
            #expect(try await liaison(hub, ["get", id, "--as", "inspection-2"]).stdoutData == Data("线索内容".utf8))

            let mine = try await liaison(hub, ["requests", "--mine", "--json", "--as", "inspection-2"])
            let list = try JSONSerialization.jsonObject(with: mine.stdoutData) as? [String: Any]
            #expect((list?["requests"] as? [[String: Any]])?.first?["status"] as? String == "approved")

            let grants = try await liaison(hub, ["grants", "--json", "--as", "zhang.wei"])
            let grantID = try #require(((try JSONSerialization.jsonObject(with: grants.stdoutData) as? [String: Any])?["grants"] as? [[String: Any]])?.first?["id"] as? String)
            let revoke = try await liaison(hub, ["revoke", grantID, "--as", "zhang.wei"])
            #expect(revoke.stdout == "Revoked \(grantID): inspection-2 can no longer read its 1 item(s).\n")
            let refused = try await liaison(hub, ["get", id, "--as", "inspection-2"])
            #expect(refused.status == 3 && refused.stderr.contains("403"))

            let closed = try await liaison(hub, ["deny", requestID, "--comment", "x", "--as", "wang.fang"])
            #expect(closed.status == 3 && closed.stderr.contains("request_closed"))
        }
    }

    @Test func watchRunsACommandPerEventRetriesFailuresAndKeepsItsCursor() async throws {
        try await TestHub.with { hub in
            var ids: [String] = []
            for index in 0..<2 {
                ids.append(try #require(try await hub.client("stationed-finance").push(title: "w\(index)", unit: "finance-bureau", classification: "general").json["id"] as? String))
            }
            let folder = try Paths.temporaryDirectory("watch")
            let state = folder + "/cursor"
            // Fails twice, then appends each event it is given.
            let script = "n=$(cat \(folder)/attempts 2>/dev/null || echo 0); n=$((n+1)); echo $n > \(folder)/attempts; [ $n -le 2 ] && exit 3; cat >> \(folder)/events.jsonl"
            let run = try await liaison(hub, ["watch", "--exec", script, "--state", state, "--exit-when-idle", "--max-backoff", "1", "--as", "zhang.wei"])
            #expect(run.status == 0, "\(run.stderr) \(run.stdout)")
            #expect(run.stderr.components(separatedBy: "--exec exited with status 3").count - 1 == 2)
            #expect(try String(contentsOfFile: folder + "/attempts", encoding: .utf8) == "4\n")
            let handled = try String(contentsOfFile: folder + "/events.jsonl", encoding: .utf8).split(separator: "\n").map {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            #expect(handled.map { $0?["item"] as? String } == ids)
            let last = try #require((handled.last??["cursor"] as? NSNumber)?.int64Value)
            #expect(try String(contentsOfFile: state, encoding: .utf8) == "\(last)\n")

            // A command that keeps failing holds the cursor where it was.
            let third = try #require(try await hub.client("stationed-finance").push(title: "w2", unit: "finance-bureau", classification: "general").json["id"] as? String)
            let stuck = try await ProcessRunner.runAsync("/usr/bin/timeout", ["4", cli, "watch", "--exec", "exit 1", "--state", state, "--max-backoff", "1", "--as", "zhang.wei"],
                                                         environment: ["LIAISON_DEV_CERTS": TestPKI.shared.directory, "LIAISON_URL": hub.baseURL])
            #expect(stuck.status == 124, "still retrying when stopped")
            #expect(try String(contentsOfFile: state, encoding: .utf8) == "\(last)\n")

            // Resuming from the state file prints only the new event; --reset starts from the oldest kept.
            let resumed = try await liaison(hub, ["watch", "--json", "--state", state, "--exit-when-idle", "--as", "zhang.wei"])
            let lines = resumed.stdout.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(lines.map { $0?["item"] as? String } == [third])
            let text = try await liaison(hub, ["watch", "--reset", "--state", state, "--exit-when-idle", "--as", "zhang.wei"])
            #expect(text.stdout.split(separator: "\n").count == 3)
            #expect(text.stdout.contains("item.readable item=\(ids[0]) classification=general kind=report owner=stationed-finance unit=finance-bureau via=push"))
        }
    }

    @Test func everyCommandAnswersHelp() async throws {
        let commands = [[], ["whoami"], ["push"], ["list"], ["show"], ["get"], ["policy", "check"], ["policy", "explain"], ["audit", "verify"], ["audit", "export"],
                        ["audit", "tail"], ["keys", "status"], ["keys", "rotate"], ["request"], ["requests", "list"], ["requests", "show"], ["approve"], ["deny"],
                        ["grants"], ["revoke"], ["watch"], ["leads", "list"], ["leads", "hand-over"], ["leads", "start"], ["leads", "close"],
                        ["dossier", "create"], ["dossier", "pull"], ["rectification"]]
        for command in commands {
            let help = try await liaison(nil, command + ["--help"])
            #expect(help.status == 0 && help.stdout.contains("USAGE:"), "liaison \(command.joined(separator: " ")) --help: \(help.stdout)")
        }
        for command in [["serve"], ["keys", "rotate"], ["keys", "status"]] {
            let help = try await ProcessRunner.runAsync(Paths.binaries + "/liaisond", command + ["--help"])
            #expect(help.status == 0 && help.stdout.contains("USAGE:"), "liaisond \(command.joined(separator: " ")) --help")
        }
    }

    @Test func theLeadLedgerFromTheCLI() async throws {
        try await TestHub.with { hub in
            let id = try #require(try await hub.client("stationed-transport").push(kind: "lead", title: "工程款线索", unit: "transport-bureau",
                                                                                   classification: "restricted").json["id"] as? String)
            let ledger = try await liaison(hub, ["leads", "--as", "wang.fang"])
            #expect(ledger.stdout.contains(id) && ledger.stdout.contains("open") && ledger.stdout.contains("工程款线索"))
            let handed = try await liaison(hub, ["leads", "hand-over", id, "--to", "stationed-finance", "--as", "wang.fang"])
            #expect(handed.stdout == "Handed lead \(id) over to stationed-finance; it may now read it.\n", "\(handed.stderr)")
            #expect(try await liaison(hub, ["leads", "start", id, "--as", "stationed-finance"]).stdout == "Lead \(id) is in progress with stationed-finance.\n")
            let illegal = try await liaison(hub, ["leads", "start", id, "--as", "stationed-finance"])
            #expect(illegal.status == 3 && illegal.stderr.contains("can move only to handed-over or closed (409 illegal_transition)"))
            #expect(try await liaison(hub, ["leads", "close", id, "--disposition", "予以了结", "--as", "stationed-finance"]).stdout == "Closed lead \(id): 予以了结.\n")
            #expect(try await liaison(hub, ["leads", "--as", "stationed-finance"]).stdout == "Your agency has no open leads (--all shows closed ones).\n")
        }
    }
}
