import Foundation
import LiaisonCrypto
import LiaisonHub
import LiaisonStore
import Testing

/// Pushes whose payload streams in as `application/octet-stream`, kept in 1 MiB chunks, and their streamed delivery,
/// against a live hub over mTLS (on SQLite, and on PostgreSQL in the suite's second pass).
@Suite("Streamed payloads")
struct StreamedPayloadTests {
    /// Bytes that differ from chunk to chunk and from byte to byte, so a chunk moved or altered shows.
    static func payload(_ size: Int, seed: UInt64 = 7) -> [UInt8] {
        var generator = SplitMix(state: seed)
        var bytes = [UInt8](repeating: 0, count: size)
        var index = 0
        while index < size {
            var word = generator.next()
            for _ in 0..<8 where index < size {
                bytes[index] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                index += 1
            }
        }
        return bytes
    }

    /// Whether `bytes` are `expected` (a Bool, so that a failure does not print megabytes).
    static func same(_ bytes: [UInt8]?, _ expected: [UInt8]) -> Bool { bytes == expected }

    @Test func aGeneralPayloadStreamsInAndOutByteForByteInChunks() async throws {
        try await TestHub.with { hub in
            let payload = Self.payload(5 * (1 << 20) + 12_345)
            let pushed = try await hub.client("stationed-transport").pushStreamed(
                payload, title: "扫描案卷, 第一卷", unit: "transport-bureau", classification: "general",
                extra: [("Liaison-Content-Type", "application/pdf"), ("Liaison-Persons", "\(TestClient.percentEncoded("张三")),\(TestClient.percentEncoded("李,四"))"),
                        ("Liaison-Tags", "road")])
            #expect(pushed.status == 201, "\(pushed.text)")
            let id = try #require(pushed.json["id"] as? String)
            #expect(pushed.json["title"] as? String == "扫描案卷, 第一卷")
            #expect(pushed.json["persons"] as? [String] == ["张三", "李,四"])
            #expect(pushed.json["tags"] as? [String] == ["road"])
            #expect(pushed.json["content_type"] as? String == "application/pdf")
            #expect(pushed.json["size"] as? Int == payload.count)
            #expect(pushed.json["sha256"] as? String == Digest.sha256Hex(payload))
            // Six chunks: five full ones and the rest; the payload row holds none of the bytes.
            #expect(try await hub.texts("SELECT CAST(count(*) AS TEXT) FROM payload_chunk WHERE item_id = '\(id)'") == ["6"])
            #expect(try await hub.texts("SELECT CAST(chunks AS TEXT) FROM payload WHERE item_id = '\(id)'") == ["6"])
            #expect(try await hub.texts("SELECT CAST(length(bytes) AS TEXT) FROM payload WHERE item_id = '\(id)'") == ["0"])
            if hub.storeKind == .sqlite {
                // On SQLite the chunks' bytes are in one file of the item's beside the database, private to the hub.
                let folder = hub.dataDirectory + "/liaison.sqlite-chunks"
                let file = try FileManager.default.attributesOfItem(atPath: folder + "/" + id)
                #expect(file[.size] as? Int == payload.count && file[.posixPermissions] as? Int == 0o600, "\(file)")
                #expect(try FileManager.default.attributesOfItem(atPath: folder)[.posixPermissions] as? Int == 0o700)
                #expect(try await hub.texts("SELECT CAST(sum(length(bytes)) AS TEXT) FROM payload_chunk WHERE item_id = '\(id)'") == ["0"])
            }

            for reader in ["stationed-transport", "office-3"] {
                let (response, plaintext) = try await hub.client(reader).payload(id)
                #expect(response.status == 200)
                #expect(response.headers.first(name: "Content-Type") == "application/octet-stream")
                #expect(response.headers.first(name: "Content-Length") == String(payload.count))
                #expect(response.headers.first(name: "Liaison-Content-Type") == "application/pdf")
                #expect(response.headers.first(name: "Liaison-SHA256") == Digest.sha256Hex(payload))
                #expect(Self.same(plaintext.map(Array.init), payload))
            }
            // The push's trail entry carries the digest of a payload kept in the clear, as for a JSON push.
            let verify = try await hub.verifyTrail()
            #expect(verify.status == 0, "\(verify.stderr)")
        }
    }

    @Test func aConfidentialPayloadIsKeptSealedInChunksAndDeliveredAsOneCMSEnvelopeOpensslOpens() async throws {
        try await TestHub.with { hub in
            let marker = Array("机密材料-不得外传".utf8)
            let payload = (0..<(3 << 20) / marker.count + 100).flatMap { _ in marker }
            let pushed = try await hub.client("stationed-transport").pushStreamed(payload, title: "机密 扫描件", unit: "transport-bureau", classification: "confidential",
                                                                                  extra: [("Liaison-Persons", TestClient.percentEncoded("王五"))], declaringLength: false)
            #expect(pushed.status == 201, "\(pushed.text)")
            let id = try #require(pushed.json["id"] as? String)
            #expect(pushed.json["title"] as? String == "机密 扫描件")
            #expect(try await hub.texts("SELECT CAST(count(*) AS TEXT) FROM payload_chunk WHERE item_id = '\(id)'") == ["4"])
            // Neither the payload nor the title or person is in the database in the clear.
            let everything = try await hub.databaseContents()
            #expect(everything.count > 3 << 20, "the chunks were read")
            // (PostgreSQL's rows come as text, bytes in hex.)
            for secret in [Data(marker), Data(Digest.hex(marker).utf8), Data("机密 扫描件".utf8), Data("王五".utf8)] { #expect(everything.range(of: secret) == nil) }

            let reader = "wang.fang"
            let (response, plaintext) = try await hub.client(reader).payload(id)
            #expect(response.status == 200)
            #expect(response.headers.first(name: "Content-Type") == "application/pkcs7-mime")
            #expect(response.body.range(of: Data(marker)) == nil)
            #expect(Self.same(plaintext.map(Array.init), payload))
            let envelope = try Paths.temporaryDirectory("stream") + "/payload.p7m"
            try response.body.write(to: URL(fileURLWithPath: envelope))
            let opened = try await ProcessRunner.runAsync("/usr/bin/openssl", ["cms", "-decrypt", "-inform", "DER", "-in", envelope, "-recip", hub.pki.certificate(reader),
                                                                              "-inkey", hub.pki.key(reader), "-binary"])
            #expect(opened.status == 0, "\(opened.stderr)")
            #expect(Self.same(Array(opened.stdoutData), payload))
        }
    }

    /// Readers that hang up part-way through a streamed payload, in the clear and sealed, with its head and first
    /// pieces read and a second request pipelined behind it: the hub stops sending, and serves the next reader the
    /// whole payload.
    @Test func readersThatHangUpMidStreamLeaveTheHubServing() async throws {
        try await TestHub.with { hub in
            let payload = Self.payload(4 * (1 << 20) + 5, seed: 11)
            let owner = try hub.client("stationed-transport")
            var ids: [String] = []
            for level in ["general", "confidential"] {
                ids.append(try #require(try await owner.pushStreamed(payload, unit: "transport-bureau", classification: level).json["id"] as? String))
            }
            let script = """
                import socket, ssl, sys
                context = ssl.create_default_context(cafile=sys.argv[2])
                context.check_hostname = False
                context.load_cert_chain(sys.argv[3], sys.argv[4])
                for path in sys.argv[5:]:
                    tls = context.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))))
                    tls.settimeout(30)
                    tls.sendall(("GET " + path + " HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n").encode() * 2)
                    received = b""
                    while len(received) < 300000:
                        piece = tls.recv(65536)
                        if not piece: break
                        received += piece
                    print(received.split(b"\\r\\n")[0].decode(), len(received) >= 300000)
                    tls.close()
                """
            let reader = "wang.fang"
            let paths = ids.flatMap { Array(repeating: "/v1/items/\($0)/payload", count: 3) }
            let cut = try await ProcessRunner.runAsync("/usr/bin/env", ["python3", "-c", script, String(hub.port), hub.pki.ca, hub.pki.certificate(reader),
                                                                        hub.pki.key(reader)] + paths)
            #expect(cut.status == 0, "\(cut.stderr)")
            #expect(cut.stdout.split(separator: "\n") == Array(repeating: "HTTP/1.1 200 OK True", count: paths.count), "\(cut.stdout)")
            for id in ids {
                let (response, plaintext) = try await hub.client(reader).payload(id)
                #expect(response.status == 200)
                #expect(Self.same(plaintext.map(Array.init), payload))
            }
            #expect(try await hub.verifyTrail().status == 0)
        }
    }

    @Test func aReaderThatAsksForFramesGetsTheChunksSealedOneByOneAndChecksTheirOrder() async throws {
        try await TestHub.with { hub in
            let payload = Self.payload(2 * (1 << 20) + 99, seed: 5)
            let pushed = try await hub.client("stationed-transport").pushStreamed(payload, unit: "transport-bureau", classification: "confidential")
            let id = try #require(pushed.json["id"] as? String)
            let reader = "wang.fang"
            let response = try await hub.client(reader).send(.GET, "/v1/items/\(id)/payload", headers: [("Accept", "\(SealedFrames.mediaType), application/pkcs7-mime")])
            #expect(response.status == 200)
            #expect(response.headers.first(name: "Content-Type") == SealedFrames.mediaType)
            let key = try PrivateKey(pemFile: hub.pki.key(reader))
            let certificate = try X509Certificate(file: hub.pki.certificate(reader))
            var frames = SealedFrames.Reader(itemID: id, key: key, certificate: certificate)
            // Fed in odd pieces, as a connection delivers them.
            var opened: [[UInt8]] = []
            let bytes = Array(response.body)
            for start in stride(from: 0, to: bytes.count, by: 77_777) { opened += try frames.take(bytes[start..<min(bytes.count, start + 77_777)]) }
            #expect(frames.finished)
            #expect(opened.map(\.count) == [1 << 20, 1 << 20, 99])
            #expect(Self.same(opened.flatMap { $0 }, payload))

            // Each frame is a standard envelope; frames moved, dropped or of another item are refused.
            let split = Self.frames(bytes)
            #expect(split.count == 3)
            let single = try Paths.temporaryDirectory("frames") + "/frame.der"
            try Data(split[2].dropFirst(4)).write(to: URL(fileURLWithPath: single))
            let opensslOpened = try await ProcessRunner.runAsync("/usr/bin/openssl", ["cms", "-decrypt", "-inform", "DER", "-in", single, "-recip", hub.pki.certificate(reader),
                                                                                    "-inkey", hub.pki.key(reader), "-binary"])
            #expect(opensslOpened.stdoutData == Data(SealedFrames.header(itemID: id, index: 2, last: true) + payload.suffix(99)))
            var swapped = SealedFrames.Reader(itemID: id, key: key, certificate: certificate)
            #expect(throws: CryptoError.self) { _ = try swapped.take(split[1] + split[0]) }
            var cut = SealedFrames.Reader(itemID: id, key: key, certificate: certificate)
            _ = try cut.take(split[0] + split[1])
            #expect(!cut.finished, "without its last frame the payload is not complete")
            var other = SealedFrames.Reader(itemID: "0000000000000000", key: key, certificate: certificate)
            #expect(throws: CryptoError.self) { _ = try other.take(split[0]) }
        }
    }

    /// The frames of a `SealedFrames` body, each with its length.
    static func frames(_ bytes: [UInt8]) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        var offset = 0
        while offset + 4 <= bytes.count {
            let length = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            frames.append(Array(bytes[offset..<offset + 4 + length]))
            offset += 4 + length
        }
        return frames
    }

    @Test func aStreamedPayloadThatFitsInOneChunkIsKeptInOnePiece() async throws {
        try await TestHub.with { hub in
            for level in ["general", "confidential"] {
                let payload = Self.payload(300_000, seed: 3)
                let pushed = try await hub.client("stationed-transport").pushStreamed(payload, unit: "transport-bureau", classification: level)
                #expect(pushed.status == 201)
                let id = try #require(pushed.json["id"] as? String)
                #expect(try await hub.texts("SELECT CAST(count(*) AS TEXT) FROM payload_chunk WHERE item_id = '\(id)'") == ["0"])
                #expect(try await hub.texts("SELECT CAST(coalesce(chunks, -1) AS TEXT) FROM payload WHERE item_id = '\(id)'") == ["-1"])
                #expect(Self.same(try await hub.client("stationed-transport").payload(id).plaintext.map(Array.init), payload))
            }
        }
    }

    @Test func chunksAlteredMovedOrDroppedInTheDatabaseAreNeverDelivered() async throws {
        try await TestHub.with { hub in
            let client = try hub.client("stationed-transport")
            var ids: [String: String] = [:]
            for level in ["general", "confidential"] {
                // On SQLite the chunks' bytes are in files beside the database (`liaison.sqlite-chunks/<item>`): one is
                // altered there, and one item's file is removed.
                // Rows naming a place no chunk can have (a negative length, an offset at the end of the range) are read
                // as lost, never handed to the file's arithmetic.
                for damage in ["alter", "swap", "drop-last", "fewer"] + (hub.storeKind == .sqlite ? ["file-gone", "negative-length", "overflowing-offset"] : []) {
                    let pushed = try await client.pushStreamed(Self.payload(3 * (1 << 20) + 10), unit: "transport-bureau", classification: level)
                    ids["\(level)/\(damage)"] = try #require(pushed.json["id"] as? String)
                }
            }
            var edits: [String] = []
            for (key, id) in ids {
                switch key.split(separator: "/")[1] {
                case "alter" where hub.storeKind == .sqlite:
                    let span = try await hub.texts("SELECT CAST(file_offset AS TEXT) FROM payload_chunk WHERE item_id = '\(id)' AND seq = 1")
                        + hub.texts("SELECT CAST(file_length AS TEXT) FROM payload_chunk WHERE item_id = '\(id)' AND seq = 1")
                    let (offset, length) = (try #require(UInt64(span[0])), try #require(Int(span[1])))
                    #expect(offset == UInt64(length) && length >= 1 << 20, "the second chunk follows the first in its file: \(span)")
                    let file = try #require(FileHandle(forWritingAtPath: hub.dataDirectory + "/liaison.sqlite-chunks/\(id)"))
                    try file.seek(toOffset: offset)
                    try file.write(contentsOf: Data(count: length))
                    try file.close()
                case "alter": edits.append("UPDATE payload_chunk SET bytes = decode(repeat('00', length(bytes)), 'hex') WHERE item_id = '\(id)' AND seq = 1")
                case "file-gone": try FileManager.default.removeItem(atPath: hub.dataDirectory + "/liaison.sqlite-chunks/\(id)")
                case "negative-length": edits.append("UPDATE payload_chunk SET file_length = -1 WHERE item_id = '\(id)' AND seq = 1")
                case "overflowing-offset": edits.append("UPDATE payload_chunk SET file_offset = 9223372036854775807 WHERE item_id = '\(id)' AND seq = 1")
                case "swap":
                    edits += ["UPDATE payload_chunk SET seq = 10 WHERE item_id = '\(id)' AND seq = 0", "UPDATE payload_chunk SET seq = 0 WHERE item_id = '\(id)' AND seq = 1",
                              "UPDATE payload_chunk SET seq = 1 WHERE item_id = '\(id)' AND seq = 10"]
                case "drop-last": edits.append("DELETE FROM payload_chunk WHERE item_id = '\(id)' AND seq = 3")
                default: edits.append("UPDATE payload SET chunks = 3 WHERE item_id = '\(id)'")  // the last chunk cut off
                }
            }
            try await hub.editDatabase(edits)
            for (key, id) in ids.sorted(by: { $0.key < $1.key }) {
                // The answer has begun (200 and its length) when a bad chunk is met: the hub ends the connection instead of
                // sending it, so the reader never gets a body that passes for the payload.
                let delivered = try? await client.payload(id)
                #expect(delivered?.plaintext == nil || delivered?.response.status != 200, "\(key) was delivered")
            }
            // The hub is still up and serves what is intact.
            let fine = try await client.pushStreamed(Self.payload(2 << 20), unit: "transport-bureau", classification: "general")
            #expect(Self.same(try await client.payload(try #require(fine.json["id"] as? String)).plaintext.map(Array.init), Self.payload(2 << 20)))
        }
    }

    @Test func badStreamedPushesAreRefusedWithTheFieldToFixAndLeaveNoChunks() async throws {
        var limits = HubLimits()
        limits.streamedPayloadBytes = 3 << 20
        try await TestHub.with(limits: limits) { hub in
            let client = try hub.client("stationed-transport")
            let body = Self.payload(2 << 20)
            var request = try await client.pushStreamed(body, unit: "transport-bureau", classification: "general", extra: [])
            #expect(request.status == 201)

            // A missing header is named.
            let missing = try await client.send(.POST, "/v1/items", body: Data(body),
                                                headers: [("Content-Type", "application/octet-stream"), ("Liaison-Kind", "report"), ("Liaison-Unit", "transport-bureau"),
                                                          ("Liaison-Classification", "general")])
            #expect(missing.status == 400)
            #expect(missing.errorCode == "missing_header")
            #expect(missing.errorField == "Liaison-Title")
            // A value that is not valid percent-encoding is named, not taken for an empty title; raw UTF-8 is taken as it is.
            let streamed = [("Content-Type", "application/octet-stream"), ("Liaison-Kind", "report"), ("Liaison-Unit", "transport-bureau"),
                            ("Liaison-Classification", "general")]
            let badPercent = try await client.send(.POST, "/v1/items", body: Data(body), headers: streamed + [("Liaison-Title", "完成 100%")])
            #expect(badPercent.status == 400 && badPercent.errorCode == "invalid_header" && badPercent.errorField == "Liaison-Title", "\(badPercent.text)")
            let raw = try await client.send(.POST, "/v1/items", body: Data(body), headers: streamed + [("Liaison-Title", "完成 100%25, 第2卷")])
            #expect(raw.status == 201 && raw.json["title"] as? String == "完成 100%, 第2卷", "\(raw.text)")
            // Fields are checked as for a JSON push, before any of the payload is stored.
            request = try await client.pushStreamed(body, kind: "memo", unit: "transport-bureau", classification: "general")
            #expect(request.status == 400 && request.errorField == "kind")
            request = try await client.pushStreamed(body, unit: "transport-bureau", classification: "secret")
            #expect(request.status == 400 && request.errorField == "classification")
            request = try await client.pushStreamed(body, unit: "transport-bureau", classification: "general", extra: [("Liaison-Content-Type", "pdf")])
            #expect(request.status == 400 && request.errorField == "content_type")
            // Too large: refused on its declared length, or once the bytes streamed without one pass the limit.
            let large = Self.payload(4 << 20)
            request = try await client.pushStreamed(large, unit: "transport-bureau", classification: "general")
            #expect(request.status == 413 && request.errorCode == "payload_too_large")
            request = try await client.pushStreamed(large, unit: "transport-bureau", classification: "confidential", declaringLength: false)
            #expect(request.status == 413 && request.errorCode == "payload_too_large")
            #expect(try await hub.texts("SELECT CAST(count(*) AS TEXT) FROM payload_chunk") == ["4"], "only the stored pushes' chunks are kept")
            #expect(try await hub.texts("SELECT CAST(count(*) AS TEXT) FROM item") == ["2"])
        }
    }

    @Test(arguments: ["general", "confidential"])
    func aPushCutOffMidStreamStoresNothingAndLeavesNoChunks(level: String) async throws {
        try await TestHub.with { hub in
            let client = try hub.client("stationed-transport")
            await #expect(throws: (any Error).self) { try await client.pushStreamedCutOff(after: Self.payload(5 << 20), unit: "transport-bureau", classification: level) }
            // The hub notices the cut when the body ends early, and removes what it had stored of it.
            // (On SQLite, the rows and the file the chunks' bytes were written to, if the hub stored any before the cut.)
            let files = { (try? FileManager.default.contentsOfDirectory(atPath: hub.dataDirectory + "/liaison.sqlite-chunks")) ?? [] }
            var left = (["?"], ["?"])
            for _ in 0..<100 {
                left = (try await hub.texts("SELECT CAST(count(*) AS TEXT) FROM payload_chunk"), files())
                if left == (["0"], []) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(left == (["0"], []))
            #expect(try await hub.texts("SELECT CAST(count(*) AS TEXT) FROM item") == ["0"])
            // And takes the next push as usual.
            let next = try await client.pushStreamed(Self.payload(3 << 20), unit: "transport-bureau", classification: level)
            #expect(next.status == 201)
        }
    }

    @Test func aStreamedPushRetriedUnderItsKeyIsStoredOnce() async throws {
        try await TestHub.with { hub in
            let client = try hub.client("stationed-transport")
            let body = Self.payload(3 << 20)
            let first = try await client.pushStreamed(body, unit: "transport-bureau", classification: "confidential", key: "scan-2026-001")
            let again = try await client.pushStreamed(body, unit: "transport-bureau", classification: "confidential", key: "scan-2026-001")
            #expect(first.status == 201)
            #expect(again.status == 200)
            #expect(again.json["id"] as? String == first.json["id"] as? String)
            let other = try await client.pushStreamed(Self.payload(3 << 20, seed: 9), unit: "transport-bureau", classification: "confidential", key: "scan-2026-001")
            #expect(other.status == 409 && other.errorCode == "idempotency_conflict")
            #expect(try await hub.texts("SELECT CAST(count(*) AS TEXT) FROM payload_chunk") == ["3"], "the retries' chunks were removed")
            if hub.storeKind == .sqlite {
                #expect(try FileManager.default.contentsOfDirectory(atPath: hub.dataDirectory + "/liaison.sqlite-chunks") == [try #require(first.json["id"] as? String)], "and their files")
            }
        }
    }

    @Test func chunksOfPushesThatNeverCompletedAreSweptAndStoredOnesKept() async throws {
        let clock = TestClock()
        try await TestHub.with(clock: clock) { hub in
            let client = try hub.client("stationed-transport")
            let stored = try await client.pushStreamed(Self.payload(2 << 20 + 1), unit: "transport-bureau", classification: "general")
            let id = try #require(stored.json["id"] as? String)
            try await hub.store.appendChunks([.init(bytes: [1, 2, 3], tag: nil), .init(bytes: [4], tag: nil)], of: "0000000000cutoff", from: 0,
                                             at: clock.now.addingTimeInterval(-7200))
            clock.advance(by: 2 * 3600)  // the stored item's chunks are older than the horizon now, as the cut-off push's
            try await hub.store.appendChunks([.init(bytes: [5], tag: nil)], of: "000000000running", from: 0, at: clock.now)
            // A file with no row at all: a push stopped between flushing its first chunks and committing their rows.
            let folder = hub.dataDirectory + "/liaison.sqlite-chunks"
            if hub.storeKind == .sqlite {
                #expect(FileManager.default.createFile(atPath: folder + "/00000000000rowless", contents: Data([9])))
            }
            #expect(try await hub.hub.sweepAbandonedChunks(olderThan: 3600) == 2)
            // The file no row names goes at the hub's start, when no push can be between its flush and its rows.
            if let sqlite = hub.store as? SQLiteStore { #expect(try sqlite.removeUnownedChunkFiles() == 1) }
            #expect(Set(try await hub.texts("SELECT item_id FROM payload_chunk")) == ["000000000running", id])
            if hub.storeKind == .sqlite {
                #expect(Set(try FileManager.default.contentsOfDirectory(atPath: folder)) == ["000000000running", id], "the swept pushes' files are gone")
            }
            #expect(Self.same(try await client.payload(id).plaintext.map(Array.init), Self.payload(2 << 20 + 1)))
        }
    }
}
