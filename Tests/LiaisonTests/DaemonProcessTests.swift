import Foundation
import LiaisonCrypto
@testable import LiaisonPostgres
import LiaisonProcess
import Testing

/// The real `liaisond` binary as an operator runs it.
@Suite("liaisond process", .serialized)
struct DaemonProcessTests {
    let pki = TestPKI.shared
    var daemon: String { Paths.binaries + "/liaisond" }

    /// Starts the daemon; with `log`, its standard error (at `--log-level trace` unless `extra` says otherwise) goes there.
    func start(data: String, port: Int, policy: String = Paths.policies, extra: [String] = [], log: String? = nil) throws -> ChildProcess {
        if let log { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        return try ChildProcess(executable: daemon,
                                arguments: ["serve", "--listen", "127.0.0.1:\(port)", "--data", data, "--policy", policy,
                                            "--cert", pki.hubCertificate, "--key", pki.hubKey, "--ca", pki.ca,
                                            "--log-level", log == nil ? "warning" : "trace"] + extra,
                                output: .null, errors: log.map { .file($0) } ?? .null)
    }

    /// Starts the daemon and returns it with a client of `principal` once it answers.
    func startAndConnect(data: String, port: Int, as principal: String = "office-3", policy: String = Paths.policies,
                         log: String? = nil) async throws -> (ChildProcess, TestClient) {
        let client = try TestClient(baseURL: "https://127.0.0.1:\(port)", certificate: pki.certificate(principal), key: pki.key(principal), ca: pki.ca)
        let process = try start(data: data, port: port, policy: policy, log: log)
        try await waitUntilUp(client)
        return (process, client)
    }

    /// Polls /healthz until the daemon answers (it needs a moment to open the database and bind).
    func waitUntilUp(_ client: TestClient) async throws {
        for _ in 0..<200 {
            if let response = try? await client.get("/healthz"), response.status == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("liaisond did not come up")
    }

    func waitForExit(_ process: ChildProcess) async -> Int32 {
        await withCheckedContinuation { continuation in
            // A thread of its own: Dispatch's global queues are the threads of Swift's concurrency pool on Linux.
            Thread { continuation.resume(returning: process.waitUntilExit().status) }.start()
        }
    }

    /// The exit status, or nil if the daemon was still running `limit` later (it is then killed, so that a regression
    /// fails the test rather than hanging the suite).
    func waitForExit(_ process: ChildProcess, within limit: Duration) async -> Int32? {
        await withTaskGroup(of: Int32?.self) { group in
            group.addTask { await waitForExit(process) }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            let first = await group.next()!
            group.cancelAll()
            if let first { return first }
            process.send(SIGKILL)
            _ = await group.next()
            return nil
        }
    }

    @Test func acknowledgedPushesSurviveKillNine() async throws {
        let data = try Paths.temporaryDirectory("kill9")
        let port = try ProcessRunner.freePort()
        let (first, client) = try await startAndConnect(data: data, port: port, as: "stationed-finance")
        let acknowledged = try await withThrowingTaskGroup(of: (String, String)?.self) { group in
            for index in 0..<64 {
                group.addTask {
                    let level = ["general", "restricted", "confidential"][index % 3]
                    let response = try await client.push(title: "item \(index)", unit: "finance-bureau", classification: level, payload: Data("body \(index)".utf8))
                    return response.status == 201 ? (response.json["id"] as! String, "body \(index)") : nil
                }
            }
            var acknowledged: [(String, String)] = []
            for try await entry in group { if let entry { acknowledged.append(entry) } }
            return acknowledged
        }
        #expect(acknowledged.count == 64)
        kill(first.processIdentifier, SIGKILL)
        #expect(await waitForExit(first) == SIGKILL)
        await client.shutdown()

        let (second, again) = try await startAndConnect(data: data, port: port, as: "stationed-finance")
        for (id, body) in acknowledged {
            let (payload, plaintext) = try await again.payload(id)
            #expect(payload.status == 200 && plaintext == Data(body.utf8), "item \(id) after kill -9")
        }
        second.terminate()
        #expect(await waitForExit(second) == 0)
        await again.shutdown()
    }

    @Test func sigtermAndSigintShutDownGracefully() async throws {
        for signal in [SIGTERM, SIGINT] {
            let data = try Paths.temporaryDirectory("graceful")
            let port = try ProcessRunner.freePort()
            let (process, client) = try await startAndConnect(data: data, port: port)
            kill(process.processIdentifier, signal)
            #expect(await waitForExit(process) == 0, "exit status after signal \(signal)")
            await client.shutdown()
        }
    }

    @Test func theDaemonRefusesAnInvalidPolicyNamingFileAndLine() async throws {
        let policy = try Paths.temporaryDirectory("bad-policy")
        for file in try FileManager.default.contentsOfDirectory(atPath: Paths.policies) where file.hasSuffix(".yaml") {
            try FileManager.default.copyItem(atPath: Paths.policies + "/" + file, toPath: policy + "/" + file)
        }
        let units = try String(contentsOfFile: policy + "/units.yaml", encoding: .utf8)
        try units.replacingOccurrences(of: "  - id: audit-bureau", with: "  - id: audit-bureau\n    colour: red").write(toFile: policy + "/units.yaml", atomically: true, encoding: .utf8)
        let result = try await ProcessRunner.runAsync(daemon, ["serve", "--policy", policy, "--data", try Paths.temporaryDirectory("unused"), "--listen", "127.0.0.1:\(try ProcessRunner.freePort())",
                                                               "--cert", pki.hubCertificate, "--key", pki.hubKey, "--ca", pki.ca])
        #expect(result.status == 2)
        #expect(result.stderr.contains("refusing to start"))
        #expect(result.stderr.contains("\(policy)/units.yaml:6:5: unknown key 'colour' in a unit"))
    }

    @Test func outOfRangeFlagsAreUsageErrorsNotCrashes() async throws {
        for flags in [["--feed-retention", "200000000000000d"], ["--feed-retention", "106751991167301d"], ["--max-payload", "9223372036854775807"],
                      ["--sign-interval", "9223372036854775807"], ["--listen", "127.0.0.1:99999999999999999999"], ["--listen", "127.0.0.1:+80"],
                      ["--reserve-space", "-1"], ["--body-budget", "0"], ["--answer-budget", "0"], ["--answer-budget", "9223372036854775807"],
                      ["--handshake-timeout", "0"], ["--header-timeout", "9223372036854775807"],
                      ["--idle-timeout", "3601"], ["--stop-timeout", "0"], ["--stop-timeout", "9223372036854775807"], ["--max-connections", "0"], ["--metrics-listen", "127.0.0.1"], ["--metrics-listen", ":9464"],
                      ["--log-format", "xml"], ["--database-ca", "/tmp/ca.pem"], ["--master-key", "/tmp/master.key"],
                      ["--database", "postgres://liaison@127.0.0.1/liaison"],
                      ["--database-connections", "0", "--database", "postgres://liaison@127.0.0.1/liaison"]] {
            let result = try await ProcessRunner.runAsync(daemon, ["serve", "--data", try Paths.temporaryDirectory("unused")] + flags)
            #expect(result.status == 64, "\(flags): \(result.stderr)")
            #expect(result.stderr.contains("Error:") && result.stderr.contains(flags[0]), "\(flags): \(result.stderr)")
        }
    }

    @Test func sighupWithAHugeGrantCapKeepsTheHubAndItsPolicy() async throws {
        let policy = try PolicyReloadTests.policyCopy()
        let data = try Paths.temporaryDirectory("sighup-huge")
        let port = try ProcessRunner.freePort()
        let (process, client) = try await startAndConnect(data: data, port: port, policy: policy)
        let path = policy + "/sharing.yaml"
        try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "max_grant: 90d", with: "max_grant: 200000000000000d")
            .write(toFile: path, atomically: true, encoding: .utf8)
        kill(process.processIdentifier, SIGHUP)
        try await Task.sleep(for: .milliseconds(500))
        #expect(process.isRunning)
        let request = try JSONSerialization.data(withJSONObject: ["reason": "x", "duration": "200d", "unit": "transport-bureau"])
        let refused = try await client.send(.POST, "/v1/requests", body: request)
        #expect(refused.status == 400, "the old policy's caps stay in force: \(refused.text)")
        process.terminate()
        #expect(await waitForExit(process) == 0)
        await client.shutdown()
    }

    /// A restore whose disk fills while it puts an item's chunks back in files leaves no part of that item's file
    /// (its rows keep the bytes, rolled back), and says what to do.
    @Test func aRestoreOnAFullDiskTakesBackTheItemsChunkFileAndSaysWhatToDo() async throws {
        let work = try Paths.temporaryDirectory("restore-full")
        let backup = work + "/b.sqlite", keyring = work + "/k.json"
        try await TestHub.with { hub in
            let pushed = try await hub.client("stationed-transport").pushStreamed(StreamedPayloadTests.payload(4 << 20 + 10), unit: "transport-bureau",
                                                                                  classification: "general")
            #expect(pushed.status == 201)
            let result = try await ProcessRunner.runAsync(daemon, ["backup", "--data", hub.dataDirectory, "--to", backup, "--keyring-to", keyring])
            #expect(result.status == 0, "\(result.stderr)")
        }
        // Room for the database (about 4 MiB), the log its updates write, and a chunk or so more, not for all five: the
        // disk fills after the item's first chunk is in its file (with 6 MiB it filled at the first).
        let disk = try smallDisk(megabytes: 8)
        defer { release(disk) }
        let data = disk + "/restored"
        let restore = try await ProcessRunner.runAsync(daemon, ["restore", "--from", backup, "--keyring", keyring, "--data", data])
        #expect(restore.status != 0, "\(restore.stdout)")
        #expect(restore.stderr.contains("cannot put the streamed payloads of \(backup) into \(data)/liaison.sqlite-chunks: "), "\(restore.stderr)")
        #expect(restore.stderr.contains("remove \(data), make room (about twice the backup's size) and restore again"), "\(restore.stderr)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: data + "/liaison.sqlite-chunks")) ?? []) == [], "no part of the item's file is left")
    }

    /// A real small filesystem: a tmpfs mounted by the test (CI runs as root), unmounted by `release`.
    func smallDisk(megabytes: Int) throws -> String {
        let disk = try Paths.temporaryDirectory("small-disk")
        let mounted = try ProcessRunner.run("/usr/bin/env", ["mount", "-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", disk])
        guard mounted.status == 0 else { throw TestFailure("mounting a tmpfs needs root, as CI has: \(mounted.stderr)") }
        return disk
    }

    func release(_ disk: String) { _ = try? ProcessRunner.run("/usr/bin/env", ["umount", "-l", disk]) }

    func auditVerifies(port: Int) async throws -> Bool {
        let verify = try await ProcessRunner.runAsync(Paths.binaries + "/liaison", ["audit", "verify", "--as", "zhao.lei"],
                                                      environment: ["LIAISON_DEV_CERTS": pki.directory, "LIAISON_URL": "https://127.0.0.1:\(port)"])
        return verify.status == 0
    }

    @Test func pushesStopWhileSpaceForTheTrailIsLeftAndReadsGoOn() async throws {
        // Room for three pushes however fast they come: each is admitted only while twice its body (1.4 MiB of JSON) fits
        // above the 4 MiB reserve, which 12 MiB allows three times over (free after each: about 8.4, 7.4, 6.4 MiB). On 8 MiB
        // the third got in only on a free-space sample under 250 ms old, taken before the second: a slow run missed it.
        let disk = try smallDisk(megabytes: 12)
        defer { release(disk) }
        let data = disk + "/data"
        let port = try ProcessRunner.freePort()
        let client = try TestClient(baseURL: "https://127.0.0.1:\(port)", certificate: pki.certificate("stationed-transport"), key: pki.key("stationed-transport"), ca: pki.ca)
        var process = try start(data: data, port: port, extra: ["--reserve-space", String(4 << 20)])
        try await waitUntilUp(client)
        var acknowledged: [String: Data] = [:]
        var refusal: TestClient.Response?
        for index in 0..<40 {
            let payload = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) })
            let response = try await client.push(unit: "transport-bureau", classification: "general", payload: payload)
            if response.status == 201, let id = response.json["id"] as? String { acknowledged[id] = payload; continue }
            refusal = response
            break
        }
        #expect(refusal?.status == 503)
        #expect(refusal?.errorCode == "storage_full")
        #expect(refusal?.headers.first(name: "Retry-After") == "30")
        #expect(acknowledged.count >= 3, "\(refusal?.text ?? "no refusal")")
        #expect(try await client.get("/v1/items?limit=100").status == 200, "listing works while pushes cannot")
        for (id, payload) in acknowledged {
            let read = try await client.get("/v1/items/\(id)/payload")
            #expect(read.status == 200 && read.body == payload, "item \(id) reads while pushes cannot")
        }
        process.terminate()
        #expect(await waitForExit(process) == 0)

        // Nothing acknowledged was lost, and the trail verifies.
        process = try start(data: data, port: port)
        try await waitUntilUp(client)
        for (id, payload) in acknowledged {
            let read = try await client.get("/v1/items/\(id)/payload")
            #expect(read.status == 200 && read.body == payload)
        }
        #expect(try await auditVerifies(port: port))
        process.terminate()
        #expect(await waitForExit(process) == 0)
        await client.shutdown()
    }

    @Test func aFullDiskIsA503AndFailedConfidentialPushesLeaveNothingInTheLog() async throws {
        let disk = try smallDisk(megabytes: 8)
        defer { release(disk) }
        let log = try Paths.temporaryDirectory("full-disk-log") + "/liaisond.log"
        let port = try ProcessRunner.freePort()
        let client = try TestClient(baseURL: "https://127.0.0.1:\(port)", certificate: pki.certificate("stationed-transport"), key: pki.key("stationed-transport"), ca: pki.ca)
        // No reserve: the store itself meets the full disk.
        let process = try start(data: disk + "/data", port: port, extra: ["--reserve-space", "0"], log: log)
        try await waitUntilUp(client)
        let filler = try await ProcessRunner.runAsync("/usr/bin/env", ["dd", "if=/dev/zero", "of=\(disk)/filler", "bs=4k"])
        #expect(filler.stderr.contains("No space left"), "the disk is full now")
        let title = "MARKER-TITLE-3f9c2e 关于某项目的线索"
        let secret = Data("MARKER-PAYLOAD-8b1d44 ".utf8) + Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0) })
        for _ in 0..<5 {
            let response = try await client.push(title: title, unit: "transport-bureau", classification: "confidential", payload: secret,
                                                 overrides: ["persons": ["MARKER-PERSON-77aa"], "tags": ["MARKER-TAG-90bb"]])
            #expect(response.status == 503, "\(response.text)")
            #expect(response.errorCode == "storage_full")
            #expect(response.headers.first(name: "Retry-After") == "30")
        }
        // A streamed one too: its chunks' file is refused by the disk, and nothing of it is left there.
        let streamed = try await client.pushStreamed(Array(secret) + Array(secret), title: title, unit: "transport-bureau", classification: "confidential")
        #expect(streamed.status == 503 && streamed.errorCode == "storage_full", "\(streamed.text)")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: disk + "/data/liaison.sqlite-chunks")) ?? [] == [])
        try FileManager.default.removeItem(atPath: disk + "/filler")
        let after = try await client.push(title: title, unit: "transport-bureau", classification: "confidential", payload: secret)
        #expect(after.status == 201, "pushes resume once space returns: \(after.text)")
        #expect(try await auditVerifies(port: port), "the chain is intact once space returns")
        process.terminate()
        #expect(await waitForExit(process) == 0)
        await client.shutdown()
        let text = try String(contentsOfFile: log, encoding: .utf8)
        for marker in ["MARKER-TITLE", "MARKER-PAYLOAD", "MARKER-PERSON", "MARKER-TAG", String(secret.prefix(21).base64EncodedString().prefix(28)), "关于某项目"] {
            #expect(!text.contains(marker), "the log holds \(marker)")
        }
        #expect(text.components(separatedBy: "the disk under the hub's data folder is full").count - 1 == 1, "one line about the full disk, not one per request:\n\(text)")
    }

    @Test func jsonLogsAreOneObjectPerLineWithRequestLinesAndNoContentAtTrace() async throws {
        let data = try Paths.temporaryDirectory("json-log")
        let log = data + "/liaisond.log"
        let port = try ProcessRunner.freePort()
        let metricsPort = try ProcessRunner.freePort()
        let client = try TestClient(baseURL: "https://127.0.0.1:\(port)", certificate: pki.certificate("stationed-transport"), key: pki.key("stationed-transport"), ca: pki.ca)
        let process = try start(data: data + "/data", port: port, extra: ["--log-format", "json", "--metrics-listen", "127.0.0.1:\(metricsPort)"], log: log)
        try await waitUntilUp(client)
        let title = "MARKER-TITLE-5d2a 关于某干部的问题线索"
        let secret = Data("MARKER-PAYLOAD-c41e ".utf8) + Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 * 7) })
        let pushed = try await client.push(title: title, unit: "transport-bureau", classification: "confidential", payload: secret,
                                           overrides: ["persons": ["MARKER-PERSON-1f2e"], "tags": ["MARKER-TAG-3a4b"]])
        #expect(pushed.status == 201)
        let id = try #require(pushed.json["id"] as? String)
        #expect(try await client.payload(id).plaintext == secret)
        #expect(try await client.push(title: title, unit: "nowhere", classification: "confidential", payload: secret).status == 400)
        // A query is never logged, whichever way the request is answered (the fast lane's, or Hummingbird's for this Accept).
        #expect(try await client.get("/v1/items?kind=MARKER-QUERY-77aa&limit=5").status == 200)
        #expect(try await client.send(.GET, "/v1/items?kind=MARKER-QUERY-77aa", headers: [("Accept", "application/json, */*;q=0.1")]).status == 200)
        let (samples, _) = try await MetricsTests.scrape(metricsPort)
        #expect(samples[#"liaison_pushes_total{classification="confidential"}"#] == 1)
        process.terminate()
        #expect(await waitForExit(process) == 0)
        await client.shutdown()

        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        var requests: [[String: String]] = []
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
            #expect(Set(object.keys) == ["time", "level", "label", "message", "metadata"], "\(line)")
            #expect((object["time"] as? String)?.hasSuffix("Z") == true)
            let metadata = try #require(object["metadata"] as? [String: String])
            if object["message"] as? String == "request" { requests.append(metadata) }
            for marker in ["MARKER-TITLE", "MARKER-PAYLOAD", "MARKER-PERSON", "MARKER-TAG", "MARKER-QUERY", String(secret.prefix(18).base64EncodedString().prefix(24)), "关于某干部"] {
                #expect(!line.contains(marker), "the log holds \(marker): \(line)")
            }
        }
        let push = try #require(requests.first { $0["operation"] == "pushItem" && $0["status"] == "201" })
        #expect(push["principal"] == "stationed-transport")
        #expect(Double(push["duration_ms"] ?? "") != nil)
        #expect(requests.contains { $0["operation"] == "getItemPayload" && $0["status"] == "200" && $0["path"] == "/v1/items/\(id)/payload" })
        #expect(requests.contains { $0["operation"] == "pushItem" && $0["status"] == "400" })
        #expect(requests.filter { $0["operation"] == "listItems" && $0["path"] == "/v1/items" }.count == 2)
    }

    /// A database that does not exist and a role the server does not know are refused by PostgreSQL at once; the daemon
    /// says so, and what to do, instead of waiting for a pool that keeps retrying and then calling the server silent.
    @Test func aDatabaseLoginPostgreSQLRefusesIsNamedWithWhatToDo() async throws {
        let server = TestPostgres.shared.address
        let masterKey = try Paths.temporaryDirectory("refused-master") + "/master.key"
        #expect(FileManager.default.createFile(atPath: masterKey, contents: Data(try MasterKey.generateText().utf8), attributes: [.posixPermissions: 0o600]))
        let cases = [
            ("postgres://\(server.user)@\(server.host):\(server.port)/no_such_liaison_db",
             "PostgreSQL at \(server.host):\(server.port) has no database 'no_such_liaison_db' (3D000: database \"no_such_liaison_db\" does not exist); "
                + "create it, e.g. `createdb -O \(server.user) no_such_liaison_db`, or name one that exists in --database"),
            ("postgres://no_such_role@\(server.host):\(server.port)/\(server.database)",
             "PostgreSQL at \(server.host):\(server.port) refused the login of 'no_such_role' (28000: role \"no_such_role\" does not exist); "
                + "check the user and password in --database, and that the server's pg_hba.conf lets this host in"),
        ]
        for (url, said) in cases {
            let result = try await ProcessRunner.runAsync(daemon, ["serve", "--data", try Paths.temporaryDirectory("refused"), "--database", url, "--master-key", masterKey,
                                                                   "--listen", "127.0.0.1:\(try ProcessRunner.freePort())", "--cert", pki.hubCertificate, "--key", pki.hubKey, "--ca", pki.ca])
            #expect(result.status == 2)
            #expect(result.stderr.contains("liaisond: refusing to start: cannot use the PostgreSQL database \(url): \(said)"), "\(result.stderr)")
        }
        // Refusals that may pass (the server starting, out of connections, a connection lost) are waited for, as before.
        for state in ["57P03", "53300", "08006"] {
            #expect(server.refusal(state: state, message: "for now") == nil)
        }
        #expect(server.refusal(state: "42501", message: "permission denied")?.description == "PostgreSQL at \(server.host):\(server.port) refused the connection (42501: permission denied)")
    }

    @Test func theDaemonKeepsItsDataInPostgreSQLAcrossARestart() async throws {
        let database = try await TestPostgres.shared.freshDatabase()
        let data = try Paths.temporaryDirectory("postgres-daemon")
        let port = try ProcessRunner.freePort()
        let client = try TestClient(baseURL: "https://127.0.0.1:\(port)", certificate: pki.certificate("stationed-transport"), key: pki.key("stationed-transport"), ca: pki.ca)
        let masterKey = try Paths.temporaryDirectory("master") + "/master.key"
        #expect(FileManager.default.createFile(atPath: masterKey, contents: Data(try MasterKey.generateText().utf8), attributes: [.posixPermissions: 0o644]))
        let tooOpen = try await ProcessRunner.runAsync(daemon, ["serve", "--data", data, "--database", database.description, "--master-key", masterKey,
                                                                "--cert", pki.hubCertificate, "--key", pki.hubKey, "--ca", pki.ca])
        #expect(tooOpen.status == 2)
        #expect(tooOpen.stderr.contains("is readable by group or others (mode 644); run `chmod 600 \(masterKey)`"), "\(tooOpen.stderr)")
        // The same two, from the environment instead of the flags.
        let tooOpenFromEnvironment = try await ProcessRunner.runAsync(daemon, ["serve", "--data", data, "--cert", pki.hubCertificate, "--key", pki.hubKey, "--ca", pki.ca],
                                                                      environment: ["LIAISON_DATABASE": database.description, "LIAISON_MASTER_KEY_FILE": masterKey])
        #expect(tooOpenFromEnvironment.status == 2)
        #expect(tooOpenFromEnvironment.stderr.contains("is readable by group or others (mode 644)"), "\(tooOpenFromEnvironment.stderr)")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: masterKey)
        let extra = ["--database", database.description, "--master-key", masterKey, "--database-connections", "4"]
        var process = try start(data: data, port: port, extra: extra)
        try await waitUntilUp(client)
        let pushed = try await client.push(unit: "transport-bureau", classification: "confidential", payload: Data("机密材料".utf8))
        #expect(pushed.status == 201)
        let id = try #require(pushed.json["id"] as? String)
        process.terminate()
        #expect(await waitForExit(process) == 0)
        #expect(!FileManager.default.fileExists(atPath: data + "/liaison.sqlite"), "no SQLite file when the data is in PostgreSQL")
        #expect(!FileManager.default.fileExists(atPath: data + "/keyring.json"), "the key ring is in the database, sealed under the master key")
        process = try start(data: data, port: port, extra: extra)
        try await waitUntilUp(client)
        #expect(try await client.payload(id).plaintext == Data("机密材料".utf8))
        #expect(try await auditVerifies(port: port))
        process.terminate()
        #expect(await waitForExit(process) == 0)
        await client.shutdown()
        let refused = try await ProcessRunner.runAsync(daemon, ["serve", "--database", "mysql://x@y/z"])
        #expect(refused.status == 64)
        #expect(refused.stderr.contains("is not a postgres:// URL"), "\(refused.stderr)")
        let refusedFromEnvironment = try await ProcessRunner.runAsync(daemon, ["serve"], environment: ["LIAISON_DATABASE": "mysql://x@y/z"])
        #expect(refusedFromEnvironment.status == 64)
        #expect(refusedFromEnvironment.stderr.contains("is not a postgres:// URL"), "\(refusedFromEnvironment.stderr)")
        let unreachable = try await ProcessRunner.runAsync(daemon, ["serve", "--data", data, "--database", "postgres://liaison@127.0.0.1:\(try ProcessRunner.freePort())/liaison",
                                                                    "--cert", pki.hubCertificate, "--key", pki.hubKey, "--ca", pki.ca],
                                                           environment: ["LIAISON_MASTER_KEY": try MasterKey.generateText()])
        #expect(unreachable.status == 2)
        #expect(unreachable.stderr.contains("cannot use the PostgreSQL database postgres://liaison@127.0.0.1:"), "\(unreachable.stderr)")
        let badKey = try await ProcessRunner.runAsync(daemon, ["serve", "--data", data, "--database", database.description,
                                                               "--cert", pki.hubCertificate, "--key", pki.hubKey, "--ca", pki.ca],
                                                      environment: ["LIAISON_MASTER_KEY": "not a key"])
        #expect(badKey.status == 2)
        #expect(badKey.stderr.contains("LIAISON_MASTER_KEY: the master key must be 32 bytes in base64"), "\(badKey.stderr)")
    }

    @Test func twoHubsOnOneDatabaseLoseNothingWhenOneIsKilledMidLoad() async throws {
        let database = try await TestPostgres.shared.freshDatabase()
        let masterKey = try Paths.temporaryDirectory("cluster-key") + "/master.key"
        #expect(FileManager.default.createFile(atPath: masterKey, contents: Data(try MasterKey.generateText().utf8), attributes: [.posixPermissions: 0o600]))
        let extra = ["--database", database.description, "--master-key", masterKey, "--database-connections", "4"]
        let (portA, portB) = (try ProcessRunner.freePort(), try ProcessRunner.freePort())
        let hubA = try start(data: try Paths.temporaryDirectory("cluster-a"), port: portA, extra: extra)
        let hubB = try start(data: try Paths.temporaryDirectory("cluster-b"), port: portB, extra: extra)
        let pushers = [("stationed-finance", "finance-bureau"), ("stationed-transport", "transport-bureau"), ("stationed-health", "health-commission")]
        func client(_ principal: String, _ port: Int) throws -> TestClient {
            try TestClient(baseURL: "https://127.0.0.1:\(port)", certificate: pki.certificate(principal), key: pki.key(principal), ca: pki.ca)
        }
        let onA = try pushers.map { try client($0.0, portA) }
        let onB = try pushers.map { try client($0.0, portB) }
        try await waitUntilUp(onA[0])
        try await waitUntilUp(onB[0])
        let perPusher = 30
        let acknowledgedCount = Counter()
        let retriedOnB = Counter()
        let aDown = Flag()
        // Each pusher pushes to A; a push A does not acknowledge (A died under it) is retried on B with the same key.
        // (A client retrying a dead address waits for its connect timeout: after one failure, the pushers go to B.)
        async let killed: Int32 = {
            while acknowledgedCount.value < 20 { try? await Task.sleep(for: .milliseconds(5)) }
            kill(hubA.processIdentifier, SIGKILL)
            return await waitForExit(hubA)
        }()
        let acknowledged = try await withThrowingTaskGroup(of: [(key: String, id: String, level: String)].self) { group in
            for (index, (principal, unit)) in pushers.enumerated() {
                group.addTask {
                    var mine: [(key: String, id: String, level: String)] = []
                    for number in 0..<perPusher {
                        let key = "\(principal)-\(number)"
                        let level = ["general", "restricted", "confidential"][number % 3]
                        let triedA = !aDown.isSet
                        var response = !triedA ? nil : try? await onA[index].push(title: key, unit: unit, classification: level, payload: Data(key.utf8), key: key)
                        if response.map({ $0.status >= 500 }) ?? true {
                            // As a load balancer does: once A fails, B takes this push and every later one.
                            if triedA { retriedOnB.add() }
                            aDown.set()
                            response = try await onB[index].push(title: key, unit: unit, classification: level, payload: Data(key.utf8), key: key)
                        }
                        let answer = try #require(response)
                        #expect(answer.status == 201 || answer.status == 200, "\(key): \(answer.status) \(answer.text)")
                        mine.append((key, try #require(answer.json["id"] as? String), level))
                        acknowledgedCount.add()
                    }
                    return mine
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(await killed == SIGKILL)
        #expect(retriedOnB.value > 0, "A was killed before the load ended")
        #expect(acknowledged.count == pushers.count * perPusher)
        #expect(Set(acknowledged.map(\.id)).count == acknowledged.count, "no push stored twice")
        // On B every acknowledged push reads back, and each unit holds exactly its pusher's pushes: none duplicated.
        for (index, (principal, unit)) in pushers.enumerated() {
            for entry in acknowledged where entry.key.hasPrefix(principal + "-") {
                let (payload, plaintext) = try await onB[index].payload(entry.id)
                #expect(payload.status == 200 && plaintext == Data(entry.key.utf8), "\(entry.key) on B")
            }
            var titles: [String] = []
            var cursor: String?
            repeat {
                let page = try await onB[index].get("/v1/items?unit=\(unit)&limit=100" + (cursor.map { "&cursor=\($0)" } ?? ""))
                titles += (page.json["items"] as? [[String: Any]] ?? []).compactMap { $0["title"] as? String }
                cursor = page.json["next_cursor"] as? String
            } while cursor != nil
            #expect(titles.sorted() == (0..<perPusher).map { "\(principal)-\($0)" }.sorted(), "\(unit) on B")
        }
        #expect(try await auditVerifies(port: portB))
        hubB.terminate()
        #expect(await waitForExit(hubB) == 0)
        for client in onA + onB { await client.shutdown() }
    }

    @Test func runClusterStartsADatabaseAndTwoHubsAndStopsThemAll() async throws {
        let folder = try Paths.temporaryDirectory("run-cluster")
        let ports = try (0..<3).map { _ in try ProcessRunner.freePort() }
        // ChildProcess starts it with no signal blocked, so the script's trap runs on SIGTERM.
        let script = try ChildProcess(
            executable: Paths.packageRoot.appendingPathComponent("scripts/run-cluster").path,
            arguments: ["--log-level", "warning", "--database-connections", "4"],
            environment: ProcessInfo.processInfo.environment.merging(
                ["LIAISON_BIN_DIR": Paths.binaries, "LIAISON_CLUSTER": folder, "LIAISON_CLUSTER_PORTS": ports.map(String.init).joined(separator: " "),
                 "LIAISON_DEV_CERTS": pki.directory]) { $1 },
            output: .null, errors: .null)
        let a = try TestClient(baseURL: "https://127.0.0.1:\(ports[0])", certificate: pki.certificate("stationed-transport"), key: pki.key("stationed-transport"), ca: pki.ca)
        let b = try TestClient(baseURL: "https://127.0.0.1:\(ports[1])", certificate: pki.certificate("stationed-transport"), key: pki.key("stationed-transport"), ca: pki.ca)
        try await waitUntilUp(a)
        try await waitUntilUp(b)
        let pushed = try await a.push(unit: "transport-bureau", classification: "confidential", payload: Data("两个枢纽".utf8))
        let id = try #require(pushed.json["id"] as? String)
        #expect(try await b.payload(id).plaintext == Data("两个枢纽".utf8))
        let mode = try FileManager.default.attributesOfItem(atPath: folder + "/master.key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        kill(script.processIdentifier, SIGTERM)
        _ = await waitForExit(script)
        #expect(!FileManager.default.fileExists(atPath: folder + "/postgres/postmaster.pid"), "the database stopped with the hubs")
        #expect(try await ProcessRunner.runAsync("/usr/bin/pgrep", ["-f", folder + "/hub-"]).status == 1, "both hubs stopped")
        await a.shutdown()
        await b.shutdown()
    }

    @Test func theDatabaseFilesAreReadableByTheirOwnerOnly() async throws {
        let data = try Paths.temporaryDirectory("modes")
        let port = try ProcessRunner.freePort()
        // A database an older hub made 0644 is made private too; a folder others may enter is warned about.
        #expect(FileManager.default.createFile(atPath: data + "/liaison.sqlite", contents: nil, attributes: [.posixPermissions: 0o644]))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: data)
        let log = try Paths.temporaryDirectory("modes-log") + "/liaisond.log"
        let (process, client) = try await startAndConnect(data: data, port: port, log: log)
        #expect(try await client.push(unit: "finance-bureau", classification: "general").status == 201)
        for file in ["liaison.sqlite", "liaison.sqlite-wal", "liaison.sqlite-shm"] {
            let mode = try FileManager.default.attributesOfItem(atPath: data + "/" + file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file) has mode \(String(mode ?? 0, radix: 8))")
        }
        process.terminate()
        #expect(await waitForExit(process) == 0)
        await client.shutdown()
        #expect(try String(contentsOfFile: log, encoding: .utf8).contains("the data folder can be entered by group or others"))
    }

    /// A client reading a large payload slowly once kept a hub told to stop from exiting (for as long as the payload
    /// took it, and a second signal did nothing). Past `--stop-timeout` the hub closes what is still open and exits,
    /// its last audit signature made; a second signal, a second or more after the first, stops it at once. What it
    /// acknowledged is kept either way.
    @Test func aSlowReaderDoesNotKeepTheHubFromStopping() async throws {
        let data = try Paths.temporaryDirectory("slow-reader-stop")
        let port = try ProcessRunner.freePort()
        let client = try TestClient(baseURL: "https://127.0.0.1:\(port)", certificate: pki.certificate("stationed-finance"), key: pki.key("stationed-finance"), ca: pki.ca)
        // 48 MiB: far more than loopback sockets buffer for a reader taking 16 KiB a second.
        let payload = [UInt8](repeating: 0x5a, count: 48 << 20)
        let log = data + "/liaisond.log"
        var ids: [String] = []
        // Round 0: told twice at once (a terminal's Ctrl-C reaches a wrapper and the hub alike), which is one stop.
        // Round 1: told again a while later, which is an operator who will not wait.
        for (round, apart) in [(0, Duration.milliseconds(100)), (1, .milliseconds(1500))] {
            let process = try start(data: data + "/data", port: port, extra: ["--stop-timeout", round == 0 ? "1" : "600"], log: log)
            try await waitUntilUp(client)
            let pushed = try await client.pushStreamed(payload, unit: "finance-bureau", classification: "general")
            #expect(pushed.status == 201)
            ids.append(try #require(pushed.json["id"] as? String))
            let reader = try ChildProcess(executable: "/usr/bin/curl", arguments: [
                "-s", "-o", "/dev/null", "--limit-rate", "16k", "--cacert", pki.ca, "--cert", pki.certificate("office-3"), "--key", pki.key("office-3"),
                "https://127.0.0.1:\(port)/v1/items/\(ids[round])/payload"], output: .null, errors: .null)
            defer { reader.send(SIGKILL); _ = reader.waitUntilExit() }
            try await Task.sleep(for: .seconds(1))
            let told = ContinuousClock.now
            process.terminate()
            try await Task.sleep(for: apart)
            process.send(SIGINT)
            let status = await waitForExit(process, within: .seconds(40))
            let took = ContinuousClock.now - told
            let text = try String(contentsOfFile: log, encoding: .utf8)
            if round == 0 {
                // The grace (1 s), then the connection closed (TLS waits up to 5 s for the peer's goodbye): not the
                // hour the payload would take, nor the backstop (grace + 15 s).
                #expect(status == 0, "\(text)")
                #expect(took < .seconds(12), "stopped \(took) after being told to")
                #expect(text.contains("signed the audit head at shutdown"), "\(text)")
                #expect(!text.contains("told to stop again"), "\(text)")
            } else {
                #expect(status == 3, "\(text)")
                #expect(took < .seconds(5), "stopped \(took) after being told twice, 1.5 s apart")
                #expect(text.contains("told to stop again; exiting now"), "\(text)")
            }
        }
        // Both items are there, whole, for a hub started again on the same data.
        let process = try start(data: data + "/data", port: port)
        try await waitUntilUp(client)
        for id in ids {
            let read = try await client.payload(id)
            #expect(read.response.status == 200)
            #expect(read.plaintext.map([UInt8].init) == payload)
        }
        process.terminate()
        #expect(await waitForExit(process) == 0)
        await client.shutdown()
    }

    @Test func theDaemonRefusesAKeyRingOthersCanRead() async throws {
        let data = try Paths.temporaryDirectory("open-ring")
        let port = try ProcessRunner.freePort()
        let (process, client) = try await startAndConnect(data: data, port: port)
        process.terminate()
        _ = await waitForExit(process)
        await client.shutdown()
        let ring = data + "/keyring.json"
        #expect((try FileManager.default.attributesOfItem(atPath: ring)[.posixPermissions] as? Int) == 0o600)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: ring)
        let result = try await ProcessRunner.runAsync(daemon, ["serve", "--data", data, "--listen", "127.0.0.1:\(port)", "--policy", Paths.policies,
                                                               "--cert", pki.hubCertificate, "--key", pki.hubKey, "--ca", pki.ca])
        #expect(result.status == 2)
        #expect(result.stderr.contains("chmod 600 \(ring)"))
    }

    @Test func theDaemonRefusesARevocationListNotSignedByItsCA() async throws {
        let result = try await ProcessRunner.runAsync(daemon, ["serve", "--data", try Paths.temporaryDirectory("crl"), "--listen", "127.0.0.1:\(try ProcessRunner.freePort())",
                                                               "--policy", Paths.policies, "--cert", pki.hubCertificate, "--key", pki.hubKey, "--ca", pki.ca,
                                                               "--crl", pki.foreignDirectory + "/crl.pem"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("was not issued and signed by the CA in \(pki.ca)"))
    }

    @Test func sighupReloadsThePolicy() async throws {
        let policy = try PolicyReloadTests.policyCopy()
        let data = try Paths.temporaryDirectory("sighup")
        let port = try ProcessRunner.freePort()
        let (process, client) = try await startAndConnect(data: data, port: port, policy: policy)
        #expect(try await client.push(unit: "water-bureau", classification: "general").status == 400)
        try PolicyReloadTests.addUnit("water-bureau", to: policy)
        kill(process.processIdentifier, SIGHUP)
        var status = 0
        for _ in 0..<100 where status != 201 {
            status = try await client.push(unit: "water-bureau", classification: "general").status
            if status != 201 { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(status == 201)
        process.terminate()
        #expect(await waitForExit(process) == 0)
        await client.shutdown()
    }

    @Test func offlineRotationIsRefusedWhileTheHubRunsAndCompletesWhenItStartsAgain() async throws {
        let data = try Paths.temporaryDirectory("offline-rotate")
        let port = try ProcessRunner.freePort()
        let (first, client) = try await startAndConnect(data: data, port: port, as: "stationed-finance")
        var bodies: [String: Data] = [:]
        for index in 0..<10 {
            let body = Data("机密 \(index)".utf8)
            bodies[try #require(try await client.push(unit: "finance-bureau", classification: "confidential", payload: body).json["id"] as? String)] = body
        }
        // The running hub holds the data folder: neither a rotation nor a second hub may touch it.
        let refused = try await ProcessRunner.runAsync(daemon, ["keys", "rotate", "--data", data])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("liaisond is running on \(data); rotate online with `liaison keys rotate`"))
        let second = try await ProcessRunner.runAsync(daemon, ["serve", "--data", data, "--listen", "127.0.0.1:\(try ProcessRunner.freePort())", "--policy", Paths.policies,
                                                               "--cert", pki.hubCertificate, "--key", pki.hubKey, "--ca", pki.ca])
        #expect(second.status == 2)
        #expect(second.stderr.contains("another liaisond is running on \(data)"))
        first.terminate()
        #expect(await waitForExit(first) == 0)
        await client.shutdown()

        let rotated = try await ProcessRunner.runAsync(daemon, ["keys", "rotate", "--data", data])
        #expect(rotated.status == 0, "\(rotated.stderr)")
        #expect(rotated.stdout.hasPrefix("Key ring version 2 is current. When the hub starts it rewraps 10 data key(s) under it"))
        let status = try await ProcessRunner.runAsync(daemon, ["keys", "status", "--data", data])
        #expect(status.stdout.contains("1        ") && status.stdout.contains("10\n") && status.stdout.contains("(current)"))

        let (restarted, again) = try await startAndConnect(data: data, port: port, as: "stationed-finance")
        for (id, body) in bodies { #expect(try await again.payload(id).plaintext == body) }
        // The hub rewraps in the background and retires version 1 (bounded wait).
        var versions: [UInt32] = []
        for _ in 0..<100 {
            versions = try KeyRing.load(at: data + "/keyring.json").versionList.map(\.version)
            if versions == [2] { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(versions == [2])
        for (id, body) in bodies { #expect(try await again.payload(id).plaintext == body) }
        restarted.terminate()
        #expect(await waitForExit(restarted) == 0)
        await again.shutdown()
    }

    @Test func sigtermEndsWaitingLongPollsInsteadOfWaitingForThem() async throws {
        let data = try Paths.temporaryDirectory("feed-shutdown")
        let port = try ProcessRunner.freePort()
        let (process, client) = try await startAndConnect(data: data, port: port, as: "zhang.wei")
        let clock = ContinuousClock()
        let asked = clock.now
        async let poll = try? client.get("/v1/feed?wait=60")
        // Give the poll a moment to reach the hub and park there; the point is what SIGTERM does next.
        try await Task.sleep(for: .milliseconds(500))
        process.terminate()
        #expect(await waitForExit(process) == 0)
        // The hub started the poll's 60 s after the client asked: an exit sooner than that did not wait it out.
        #expect(clock.now - asked < .seconds(60), "the hub did not wait out the 60 s long-poll")
        let answer = await poll
        #expect(answer == nil || answer?.status == 200)
        await client.shutdown()
    }
}
