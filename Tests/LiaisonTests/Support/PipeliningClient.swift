import Foundation

/// One mTLS connection (python's ssl module) that sends `count` copies of a GET in one go, reads nothing for `pause`
/// seconds, then reads the answers until it has them all or the hub closes the connection.
enum PipeliningClient {
    struct Outcome: Decodable {
        /// Complete answers received, in order.
        let statuses: [Int]
        let sizes: [Int]
        /// The hub closed the connection before every answer came.
        let closed: Bool
    }

    static func run(_ hub: RunningHub, as principal: String, path: String, count: Int, pause: Double) async throws -> Outcome {
        let script = """
            import json, socket, ssl, sys, time
            context = ssl.create_default_context(cafile=sys.argv[2])
            context.check_hostname = False
            context.load_cert_chain(sys.argv[3], sys.argv[4])
            tls = context.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))))
            count, pause = int(sys.argv[6]), float(sys.argv[7])
            tls.sendall(("GET %s HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n" % sys.argv[5]).encode() * count)
            time.sleep(pause)
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
                                                                      hub.pki.key(principal), path, String(count), String(pause)])
        do {
            return try JSONDecoder().decode(Outcome.self, from: result.stdoutData)
        } catch {
            throw TestFailure("the pipelining client failed: \(result.stdout) \(result.stderr)")
        }
    }
}
