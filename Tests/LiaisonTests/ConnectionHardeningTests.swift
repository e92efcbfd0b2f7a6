import AsyncHTTPClient
import Foundation
import LiaisonHub
import LiaisonServer
import NIOCore
import Testing

/// Idle and half-open sockets, oversized and concurrent bodies, and client key types (issue 13).
@Suite("Connection hardening")
struct ConnectionHardeningTests {
    /// Short, but not so short that a handshake of the suite's own clients misses them: with every suite at once on
    /// two cores, 1 s deadlines once closed this test's client connections for 30 s (remoteConnectionClosed).
    static func shortDeadlines(_ settings: inout ServerSettings) {
        settings.connections.handshakeTimeout = .seconds(3)
        settings.connections.headerTimeout = .seconds(3)
        settings.connections.idleTimeout = .seconds(6)
    }

    /// `RawSocket.isClosedByPeer` off the cooperative pool (on a thread of its own: Dispatch's global queues are the pool's
    /// threads on Linux), so waiting never starves the in-process hub.
    static func closed(_ socket: RawSocket, within seconds: Double) async -> Bool {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: socket.isClosedByPeer(within: seconds)) }.start()
        }
    }

    @Test func silentAndSlowConnectionsAreClosedWhileRequestsGoOn() async throws {
        try await TestHub.with(configure: Self.shortDeadlines) { hub in
            let silent = try (0..<20).map { _ in try RawSocket(port: hub.port) }
            let client = try hub.client("office-3")
            #expect(try await client.get("/v1/whoami").status == 200)
            try await Task.sleep(for: .milliseconds(4000))
            #expect(try await client.get("/v1/whoami").status == 200, "a connection that finished its handshake outlives the handshake timeout")
            for socket in silent { #expect(await Self.closed(socket, within: 6), "a socket that never starts TLS is closed after the handshake timeout") }

            // Slow loris: TLS done, then headers that never end.
            #expect(try await Self.slowLoris(hub, give: 20) < 10)
            #expect(try await client.get("/v1/whoami").status == 200)
        }
    }

    /// Seconds until the hub closes a TLS connection whose request headers never end (python's ssl module,
    /// which reports the close at once; at most `give` seconds).
    static func slowLoris(_ hub: RunningHub, give: Int) async throws -> Double {
        let script = """
            import socket, ssl, sys, time
            context = ssl.create_default_context(cafile=sys.argv[2])
            context.check_hostname = False
            context.load_cert_chain(sys.argv[3], sys.argv[4])
            raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
            tls = context.wrap_socket(raw)
            start = time.monotonic()
            tls.sendall(b"GET /v1/whoami HTTP/1.1\\r\\nHost: x\\r\\n")
            tls.settimeout(float(sys.argv[5]))
            try:
                while tls.recv(4096): pass
            except Exception:
                pass
            print(round(time.monotonic() - start, 2))
            """
        let result = try await ProcessRunner.runAsync("/usr/bin/env", ["python3", "-c", script, String(hub.port), hub.pki.ca,
                                                                       hub.pki.certificate("office-3"), hub.pki.key("office-3"), String(give)])
        guard let seconds = Double(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw TestFailure("the slow-loris client failed: \(result.stdout) \(result.stderr)")
        }
        return seconds
    }

    /// A client that writes all its pipelined requests before it reads any answer waits on the hub, which waits for it
    /// to read: after the idle timeout the hub closes the connection instead of holding its answers (the lane's and the
    /// routed path's), and serves the next client. The client waits 15 s: under the whole suite on two cores, the hub
    /// once took most of an 8 s pause to write the first answers that fill the connection.
    @Test(arguments: [true, false]) func anAnswerTheClientReadsNoneOfIsGivenUpAfterTheIdleTimeout(fastLane: Bool) async throws {
        try await TestHub.with(configure: { settings in
            settings.fastLane = fastLane
            settings.connections.idleTimeout = .seconds(2)
        }) { hub in
            let owner = try hub.client("stationed-finance")
            let payload = Data((0..<(900 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 17) })
            let id = try #require(try await owner.push(unit: "finance-bureau", classification: "general", payload: payload).json["id"] as? String)
            let outcome = try await PipeliningClient.run(hub, as: "office-3", path: "/v1/items/\(id)/payload", count: 100, pause: 15)
            #expect(outcome.closed && outcome.statuses.count < 40, "\(outcome.statuses.count) answers, closed: \(outcome.closed)")
            #expect(Set(outcome.statuses).isSubset(of: [200]) && Set(outcome.sizes).isSubset(of: [payload.count]), "\(outcome)")
            #expect(try await hub.client("office-3").get("/v1/items/\(id)").status == 200)
        }
    }

    @Test func aSlowLorisIsClosedAfterTheHeaderTimeoutNotTheIdleOne() async throws {
        try await TestHub.with(configure: { settings in
            settings.connections.headerTimeout = .seconds(1)
            settings.connections.idleTimeout = .seconds(30)
        }) { hub in
            let seconds = try await Self.slowLoris(hub, give: 20)
            #expect(seconds >= 0.9 && seconds < 5, "closed by the 1 s header deadline, not by the 30 s idle timeout: \(seconds) s")
        }
    }

    @Test func pastTheCapNewConnectionsAreRefusedAndOpenOnesKeepWorking() async throws {
        try await TestHub.with(configure: { settings in
            settings.connections.maximumConnections = 8
        }) { hub in
            let established = try hub.client("office-3")
            #expect(try await established.get("/v1/whoami").status == 200)
            let fillers = try (0..<7).map { _ in try RawSocket(port: hub.port) }
            try await Task.sleep(for: .milliseconds(200))
            // curl, which does not retry (AsyncHTTPClient would, until the cap frees up).
            let curl = ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20", "--cacert", hub.pki.ca, "--cert", hub.pki.certificate("office-3"),
                        "--key", hub.pki.key("office-3"), hub.baseURL + "/v1/whoami"]
            let refused = try await ProcessRunner.runAsync("/usr/bin/curl", curl)
            #expect(refused.status != 0 && refused.stdout == "000", "the cap is reached: a new connection is closed (\(refused.status) \(refused.stdout))")
            #expect(try await established.get("/v1/whoami").status == 200, "the established connection is not hurt")
            for socket in fillers { socket.hangUp() }
            try await Task.sleep(for: .milliseconds(300))
            let admitted = try await ProcessRunner.runAsync("/usr/bin/curl", curl)
            #expect(admitted.stdout == "200", "room again once the idle sockets are gone")
        }
    }

    @Test func aChunkedBodyOverTheLimitIsA413() async throws {
        try await TestHub.with(limits: HubLimits(payloadBytes: 1024)) { hub in
            let client = try hub.client("office-3")
            var request = HTTPClientRequest(url: hub.baseURL + "/v1/items")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            let chunk = ByteBuffer(repeating: UInt8(ascii: "a"), count: 64 * 1024)
            request.body = .stream(AsyncStream { continuation in
                for _ in 0..<64 { continuation.yield(chunk) }
                continuation.finish()
            }, length: .unknown)
            let response = try await client.http.execute(request, timeout: .seconds(30))
            #expect(response.status.code == 413)
            let body = try await response.body.collect(upTo: 1 << 20)
            #expect(String(buffer: body).contains("payload_too_large"))
            #expect(try await client.get("/v1/whoami").status == 200)
        }
    }

    @Test func bodiesPastTheMemoryBudgetWaitWithA503() async throws {
        try await TestHub.with(limits: HubLimits(payloadBytes: 1024), configure: { $0.bodyBudgetBytes = 0 }) { hub in
            let bodyLimit = (1024 + 2) / 3 * 4 + 256 * 1024 // the body limit of a 1 KiB payload limit; the budget is one of it
            // A push that declares the largest body, sends its headers and one byte, and the rest only when the test
            // says so (python's ssl module, which writes exactly that): it holds the whole budget meanwhile. Not a fixed
            // wait: with every suite at once on two cores, an answer can take many seconds. Should the hub answer it
            // before that (busy: another push held a little of the budget when its headers were read), it says so in `early`.
            let script = """
                import os, select, socket, ssl, sys, time
                context = ssl.create_default_context(cafile=sys.argv[2])
                context.check_hostname = False
                context.load_cert_chain(sys.argv[3], sys.argv[4])
                tls = context.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))))
                length = int(sys.argv[5])
                tls.sendall(b"POST /v1/items HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nContent-Length: %d\\r\\n\\r\\n{" % length)
                open(sys.argv[6], "w").close()
                tls.setblocking(False)
                for _ in range(3000):
                    if os.path.exists(sys.argv[7]): break
                    if select.select([tls], [], [], 0.1)[0]:
                        try:
                            answer = tls.recv(64)
                        except ssl.SSLWantReadError:
                            continue
                        open(sys.argv[8], "w").close()
                        print("early", answer.split(b" ")[1].decode() if answer else "close", flush=True)
                        sys.exit(0)
                tls.setblocking(True)
                tls.sendall(b" " * (length - 2) + b"}")
                print(tls.recv(64).split(b" ")[1].decode(), flush=True)
                """
            let other = try hub.client("office-5")
            var outcome: (refused: TestClient.Response, slow: ProcessResult)?
            for _ in 0..<5 where outcome == nil {
                let folder = try Paths.temporaryDirectory("budget")
                let (sent, go, early) = (folder + "/headers-sent", folder + "/send-the-rest", folder + "/answered-early")
                defer { _ = FileManager.default.createFile(atPath: go, contents: nil) }  // should the test end early
                let holder = Task {
                    try await ProcessRunner.runAsync("/usr/bin/env", ["python3", "-c", script, String(hub.port), hub.pki.ca, hub.pki.certificate("office-3"),
                                                                      hub.pki.key("office-3"), String(bodyLimit), sent, go, early])
                }
                // Others push only once the slow push's headers are on their way, so that it is the one holding the budget
                // (python may take many seconds to start while every suite runs at once).
                for _ in 0..<1200 where !FileManager.default.fileExists(atPath: sent) { try await Task.sleep(for: .milliseconds(50)) }
                #expect(FileManager.default.fileExists(atPath: sent), "the slow push never sent its headers")
                // A push that the hub reads before the slow push's headers is stored; once they are read, pushes wait.
                var refused = try await other.push(unit: "finance-bureau", classification: "general")
                let trying = ContinuousClock.now
                while refused.status == 201, !FileManager.default.fileExists(atPath: early), ContinuousClock.now - trying < .seconds(60) {
                    try await Task.sleep(for: .milliseconds(100))
                    refused = try await other.push(unit: "finance-bureau", classification: "general")
                }
                #expect(FileManager.default.createFile(atPath: go, contents: nil))
                let slow = try await holder.value
                // The race above went the other way: the slow push was refused at once; start again.
                if refused.status == 201, slow.stdout.hasPrefix("early") { continue }
                outcome = (refused, slow)
            }
            let (refused, slow) = try #require(outcome, "every attempt's slow push was answered before it held the budget")
            #expect(refused.status == 503)
            #expect(refused.errorCode == "busy")
            #expect(refused.headers.first(name: "Retry-After") == "1")
            #expect(slow.stdout == "400\n", "the slow push ends (its body is no item) and gives the budget back: \(slow.stdout) \(slow.stderr)")
            #expect(try await other.push(unit: "finance-bureau", classification: "general").status == 201)
        }
    }

    @Test func anEd25519ClientCertificateConnectsAndIsRefusedOnlySealedPayloads() async throws {
        try await TestHub.with { hub in
            let owner = try hub.client("stationed-transport")
            let pushed = try await owner.push(unit: "transport-bureau", classification: "confidential")
            #expect(pushed.status == 201)
            let id = pushed.json["id"] as? String ?? ""
            let folder = hub.pki.directory + "/ed25519"
            let ed25519 = try TestClient(baseURL: hub.baseURL, certificate: folder + "/stationed-transport.pem", key: folder + "/stationed-transport.key", ca: hub.pki.ca)
            let whoami = try await ed25519.get("/v1/whoami")
            #expect(whoami.status == 200)
            #expect(whoami.json["principal"] as? String == "stationed-transport")
            #expect(try await ed25519.get("/v1/items/\(id)").status == 200)
            let payload = try await ed25519.get("/v1/items/\(id)/payload")
            #expect(payload.status == 406)
            #expect(payload.errorCode == "unaddressable_key")
            // curl, over the system OpenSSL, too.
            let curl = try await ProcessRunner.runAsync("/usr/bin/curl", ["-s", "--cacert", hub.pki.ca, "--cert", folder + "/stationed-transport.pem",
                                                                          "--key", folder + "/stationed-transport.key", hub.baseURL + "/v1/whoami"])
            #expect(curl.stdout.contains("\"principal\":\"stationed-transport\""), "\(curl.stdout) \(curl.stderr)")
            await ed25519.shutdown()
        }
    }
}
