import Foundation

/// One mTLS connection (python's ssl module) that sends `count` copies of a GET in one go (or GETs of several paths), reads nothing for `pause`
/// seconds from the first answer's arrival (or until the file `go` exists, if given: a test on a loaded pool may wake
/// up late from its own sleep), then reads the answers until it has them all or the hub closes the connection.
/// `receiveBuffer` bounds its socket's receive buffer (loopback's grows to 32 MiB otherwise, and would take a large
/// answer off the hub's hands).
enum PipeliningClient {
    struct Outcome: Decodable {
        /// Complete answers received, in order.
        let statuses: [Int]
        let sizes: [Int]
        /// The hub closed the connection before every answer came.
        let closed: Bool
    }

    static func run(_ hub: RunningHub, as principal: String, path: String, count: Int, pause: Double, go: String? = nil,
                    receiveBuffer: Int = 0) async throws -> Outcome {
        try await run(hub, as: principal, paths: Array(repeating: path, count: count), pause: pause, go: go, receiveBuffer: receiveBuffer)
    }

    /// A GET of each of `paths`, sent in one go.
    static func run(_ hub: RunningHub, as principal: String, paths: [String], pause: Double, go: String? = nil,
                    receiveBuffer: Int = 0) async throws -> Outcome {
        let script = """
            import json, os, select, socket, ssl, sys, time
            context = ssl.create_default_context(cafile=sys.argv[2])
            context.check_hostname = False
            context.load_cert_chain(sys.argv[3], sys.argv[4])
            raw = socket.socket()
            if int(sys.argv[7]) > 0:
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(sys.argv[7]))
            raw.connect(("127.0.0.1", int(sys.argv[1])))
            tls = context.wrap_socket(raw)
            paths, pause = json.loads(sys.argv[5]), float(sys.argv[6])
            count = len(paths)
            tls.sendall("".join("GET %s HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n" % path for path in paths).encode())
            # The pause starts with the first answer's bytes: a debug build under load took seconds over the first.
            select.select([tls], [], [], 60)
            until = time.time() + pause
            while time.time() < until and not (sys.argv[8] and os.path.exists(sys.argv[8])):
                time.sleep(0.05)
            tls.settimeout(30)
            received, statuses, sizes, closed = b"", [], [], False
            while len(statuses) < count:
                head_end = received.find(b"\\r\\n\\r\\n")
                if head_end >= 0:
                    head = received[:head_end].decode().split("\\r\\n")
                    length = int([line.split(":")[1] for line in head if line.lower().startswith("content-length:")][0])
                    if len(received) >= head_end + 4 + length:
                        statuses.append(int(head[0].split(" ")[1]))
                        sizes.append(length)
                        received = received[head_end + 4 + length:]
                        continue
                try:
                    data = tls.recv(1 << 20)
                except (ssl.SSLError, OSError):
                    data = b""
                if not data:
                    closed = True
                    break
                received += data
            print(json.dumps({"statuses": statuses, "sizes": sizes, "closed": closed}))
            """
        let result = try await ProcessRunner.runAsync("/usr/bin/env", ["python3", "-c", script, String(hub.port), hub.pki.ca, hub.pki.certificate(principal),
                                                                      hub.pki.key(principal), String(decoding: try JSONEncoder().encode(paths), as: UTF8.self),
                                                                      String(pause), String(receiveBuffer), go ?? ""])
        do {
            return try JSONDecoder().decode(Outcome.self, from: result.stdoutData)
        } catch {
            throw TestFailure("the pipelining client failed: \(result.stdout) \(result.stderr)")
        }
    }
}
