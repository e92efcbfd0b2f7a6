import Foundation
import LiaisonCore
import LiaisonCrypto
import LiaisonHub
import LiaisonStore
import Synchronization
import Testing

/// Confidential payloads leave the hub only as CMS sealed to the reader's certificate, and may arrive
/// sealed to the hub's. The openssl CLI is the independent party on the other side of each envelope.
@Suite("Confidential delivery (CMS)")
struct ConfidentialDeliveryTests {
    let pki = TestPKI.shared

    /// Runs the openssl CLI; `input` goes to its standard input.
    func openssl(_ arguments: [String], input: Data? = nil) async throws -> ProcessResult {
        try await ProcessRunner.runAsync("/usr/bin/openssl", arguments, input: input)
    }

    func write(_ data: Data, _ name: String) throws -> String {
        let path = try Paths.temporaryDirectory("cms") + "/" + name
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Binary content that would break any text conversion on the way.
    let content = Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }) + Data("机密 内容\r\n\0".utf8)

    @Test(arguments: ["stationed-transport", "wang.fang"])  // an RSA agency and an EC P-256 person of the owner agency
    func theHubSealsToTheReadersCertificateAndOpensslOpensIt(reader: String) async throws {
        try await TestHub.with { hub in
            let pushed = try await hub.client("stationed-transport").push(unit: "transport-bureau", classification: "confidential", payload: content)
            let id = try #require(pushed.json["id"] as? String)
            let response = try await hub.client(reader).get("/v1/items/\(id)/payload")
            #expect(response.status == 200)
            #expect(response.headers.first(name: "Content-Type") == "application/pkcs7-mime")
            #expect(response.headers.first(name: "Liaison-SHA256") == sha256Hex(content))
            #expect(response.body.range(of: content.prefix(64)) == nil, "the plaintext is not in the envelope")
            let envelope = try write(response.body, "payload.der")
            let structure = try await openssl(["cms", "-cmsout", "-print", "-inform", "DER", "-in", envelope])
            #expect(structure.stdout.contains("contentType: id-smime-ct-authEnvelopedData"))
            #expect(structure.stdout.contains("aes-256-gcm"))
            #expect(structure.stdout.contains(reader == "wang.fang" ? "dhSinglePass-stdDH-sha256kdf-scheme" : "rsaesOaep"))
            let opened = try await openssl(["cms", "-decrypt", "-inform", "DER", "-in", envelope, "-recip", pki.certificate(reader), "-inkey", pki.key(reader), "-binary"])
            #expect(opened.status == 0, "\(opened.stderr)")
            #expect(opened.stdoutData == content)
            // Another principal's key opens nothing, and says so.
            let wrong = try await openssl(["cms", "-decrypt", "-inform", "DER", "-in", envelope, "-recip", pki.certificate("office-3"), "-inkey", pki.key("office-3"), "-binary"])
            #expect(wrong.status != 0 && wrong.stdoutData.isEmpty)
        }
    }

    @Test(arguments: ["stationed-finance", "zhang.wei"])  // RSA and EC
    func envelopesSealedByOpensslOpenInLiaisonCryptoAndTheOtherWayRound(principal: String) async throws {
        let certificate = try X509Certificate(file: pki.certificate(principal))
        let key = try PrivateKey(pemFile: pki.key(principal))
        let plaintext = try write(content, "plain.bin")
        let sealedByOpenssl = try await openssl(["cms", "-encrypt", "-binary", "-aes-256-gcm", "-outform", "DER", "-in", plaintext, pki.certificate(principal)])
        #expect(sealedByOpenssl.status == 0, "\(sealedByOpenssl.stderr)")
        #expect(try CMSEnvelope.open(Array(sealedByOpenssl.stdoutData), key: key, certificate: certificate) == Array(content))

        let sealedByLiaison = try write(Data(try CMSEnvelope.seal(content, to: certificate)), "sealed.der")
        let opened = try await openssl(["cms", "-decrypt", "-inform", "DER", "-in", sealedByLiaison, "-recip", pki.certificate(principal), "-inkey", pki.key(principal), "-binary"])
        #expect(opened.stdoutData == content)

        // A wrong key, an altered envelope and a structure that is not AuthEnvelopedData all fail cleanly.
        let other = try PrivateKey(pemFile: pki.key("office-5"))
        let otherCertificate = try X509Certificate(file: pki.certificate("office-5"))
        #expect(throws: CryptoError.self) { try CMSEnvelope.open(Array(sealedByOpenssl.stdoutData), key: other, certificate: otherCertificate) }
        var altered = Array(sealedByOpenssl.stdoutData)
        altered[altered.count - 20] ^= 0x01
        #expect(throws: CryptoError.self) { try CMSEnvelope.open(altered, key: key, certificate: certificate) }
        let cbc = try await openssl(["cms", "-encrypt", "-binary", "-aes-256-cbc", "-outform", "DER", "-in", plaintext, pki.certificate(principal)])
        #expect(throws: CryptoError.malformed("the CMS structure is not AuthEnvelopedData; seal with AES-256-GCM (openssl cms -encrypt -aes-256-gcm)")) {
            try CMSEnvelope.open(Array(cbc.stdoutData), key: key, certificate: certificate)
        }
    }

    /// `CMSEnvelope.seal` writes its envelopes itself (`CMSRecipient`, `DER`). For RSA and EC readers and contents of
    /// several sizes, each is laid out as the openssl CLI lays out its own to the same certificate (the same outline
    /// and lengths, only the random values differ), OpenSSL reads it and writes it back byte for byte, and both
    /// openssl and `CMSEnvelope.open` open it to the content; the wrong key opens nothing.
    /// Readers on P-384 and on sect571r1 (certificates made here with openssl) as well: other curves, longer shared
    /// secrets and points (sect571r1's, 72 and 145 bytes, are the longest of any named curve).
    @Test(arguments: ["stationed-finance", "zhang.wei", "P-384", "sect571r1"])  // RSA, EC P-256, EC P-384, EC sect571r1
    func envelopesWrittenHereAreLaidOutAsOpensslLaysOutItsOwn(principal: String) async throws {
        var (certificatePath, keyPath) = (pki.certificate(principal), pki.key(principal))
        if ["P-384", "sect571r1"].contains(principal) {
            let folder = try Paths.temporaryDirectory("curve")
            (certificatePath, keyPath) = (folder + "/reader.pem", folder + "/reader.key")
            let made = try await openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:\(principal)", "-nodes", "-keyout", keyPath,
                                          "-out", certificatePath, "-subj", "/CN=curve-reader", "-days", "1"])
            #expect(made.status == 0, "\(made.stderr)")
        }
        let certificate = try X509Certificate(file: certificatePath)
        let key = try PrivateKey(pemFile: keyPath)
        let options = certificate.keyType == .rsa ? ["-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256"] : ["-keyopt", "ecdh_kdf_md:sha256"]
        for size in [0, 1, 127, 128, 5013, 200_000] {
            let plain = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
            let ours = try CMSEnvelope.seal(plain, to: certificate)
            let oursFile = try write(Data(ours), "ours.der")
            let theirs = try await openssl(["cms", "-encrypt", "-binary", "-aes-256-gcm", "-outform", "DER", "-in", try write(plain, "plain.bin"),
                                            "-recip", certificatePath] + options)
            #expect(theirs.status == 0, "\(theirs.stderr)")
            #expect(try await outline(oursFile) == (try await outline(try write(theirs.stdoutData, "theirs.der"))), "size \(size)")
            let rewritten = try await openssl(["cms", "-cmsout", "-inform", "DER", "-outform", "DER", "-in", oursFile])
            #expect(rewritten.status == 0 && Array(rewritten.stdoutData) == ours, "size \(size): \(rewritten.stderr)")
            let opened = try await openssl(["cms", "-decrypt", "-inform", "DER", "-in", oursFile, "-recip", certificatePath, "-inkey", keyPath, "-binary"])
            #expect(opened.status == 0 && opened.stdoutData == plain, "size \(size): \(opened.stderr)")
            #expect(try CMSEnvelope.open(ours, key: key, certificate: certificate) == Array(plain))
        }
        let other = try PrivateKey(pemFile: pki.key("office-5"))
        #expect(throws: CryptoError.self) { try CMSEnvelope.open(try CMSEnvelope.seal(content, to: certificate), key: other, certificate: try X509Certificate(file: pki.certificate("office-5"))) }
    }

    /// `openssl asn1parse`'s outline of a DER file: every element's offset, depth, lengths and type, and the values
    /// it prints, but not the bytes of octet strings (keys, nonces, ciphertext and tags: random in every envelope).
    func outline(_ path: String) async throws -> [String] {
        let parsed = try await openssl(["asn1parse", "-inform", "DER", "-in", path])
        #expect(parsed.status == 0, "\(parsed.stderr)")
        return parsed.stdout.split(separator: "\n").map { line in String(line.split(separator: "[HEX DUMP]", maxSplits: 1)[0]) }
    }

    @Test func aReaderWhoseKeyCannotBeAddressedGets406NamingTheKeyTypesThatWork() async throws {
        let folder = try Paths.temporaryDirectory("ed25519")
        let made = try await openssl(["req", "-x509", "-newkey", "ed25519", "-nodes", "-keyout", folder + "/reader.key", "-out", folder + "/reader.pem",
                                      "-subj", "/CN=stationed-transport", "-days", "1"])
        #expect(made.status == 0, "\(made.stderr)")
        let certificate = try X509Certificate(file: folder + "/reader.pem")
        #expect(certificate.keyType == .other("ED25519"))
        try await TestHub.with { running in
            let pushed = try await running.client("stationed-transport").push(unit: "transport-bureau", classification: "confidential")
            let id = try #require(pushed.json["id"] as? String)
            let reader = try running.hub.principal(commonName: "stationed-transport")
            await #expect(throws: HubError(.notAcceptable, code: "unaddressable_key",
                                           message: "item \(id) is delivered sealed to your certificate, and a CMS envelope cannot be addressed to its ED25519 key",
                                           hint: "Present a certificate with an \(CMSEnvelope.addressableKeyTypes) key; ask the hub's CA for one")) {
                try await running.hub.items.payload(id: id, in: running.hub.context(for: reader), presenting: certificate)
            }
            // General items need no envelope: the same certificate reads them.
            let general = try #require(try await running.client("stationed-transport").push(unit: "transport-bureau", classification: "general").json["id"] as? String)
            #expect(try await running.hub.items.payload(id: general, in: running.hub.context(for: reader), presenting: certificate).body.whole == Array("payload".utf8))
        }
    }

    @Test func aPayloadSealedByOpensslToTheHubIsStoredAsTheBytesInside() async throws {
        try await TestHub.with { hub in
            let client = try hub.client("stationed-finance")
            let served = try await client.get("/v1/hub/certificate")
            #expect(served.status == 200)
            #expect(served.text == (try String(contentsOfFile: pki.hubCertificate, encoding: .utf8)))
            let hubCertificate = try write(served.body, "hub.pem")
            let sealed = try await openssl(["cms", "-encrypt", "-binary", "-aes-256-gcm", "-outform", "DER", "-in", try write(content, "plain.bin"), hubCertificate])
            #expect(sealed.status == 0, "\(sealed.stderr)")
            let pushed = try await client.push(unit: "finance-bureau", classification: "confidential", payload: sealed.stdoutData, overrides: ["content_encoding": "cms"])
            #expect(pushed.status == 201)
            #expect(pushed.json["sha256"] as? String == sha256Hex(content))
            #expect(pushed.json["size"] as? Int == content.count)
            let id = try #require(pushed.json["id"] as? String)
            #expect(try await client.payload(id).plaintext == content)

            // The same for a general item: stored and served as the plain bytes.
            let general = try await client.push(unit: "finance-bureau", classification: "general", payload: sealed.stdoutData, overrides: ["content_encoding": "cms"])
            let generalID = try #require(general.json["id"] as? String)
            #expect(try await client.get("/v1/items/\(generalID)/payload").body == content)
        }
    }

    @Test func aBadSealedIntakeIsA400ThatSaysHowToSeal() async throws {
        try await TestHub.with { hub in
            let client = try hub.client("stationed-finance")
            let plaintext = try write(content, "plain.bin")
            let toSomeoneElse = try await openssl(["cms", "-encrypt", "-binary", "-aes-256-gcm", "-outform", "DER", "-in", plaintext, pki.certificate("office-3")])
            let cbc = try await openssl(["cms", "-encrypt", "-binary", "-aes-256-cbc", "-outform", "DER", "-in", plaintext, pki.hubCertificate])
            for body in [Data("not cms at all".utf8), toSomeoneElse.stdoutData, cbc.stdoutData] {
                let response = try await client.push(unit: "finance-bureau", classification: "confidential", payload: body, overrides: ["content_encoding": "cms"])
                #expect(response.status == 400)
                #expect(response.errorCode == "invalid_cms")
                #expect(response.errorField == "payload")
                #expect(response.errorMessage.hasPrefix("the payload is not a CMS envelope this hub can open"))
            }
            let unknown = try await client.push(unit: "finance-bureau", classification: "general", overrides: ["content_encoding": "gzip"])
            #expect(unknown.status == 400 && unknown.errorField == "content_encoding")
            #expect(unknown.errorMessage == "the field 'content_encoding' has an invalid value")
            #expect((try await client.get("/v1/items").json["items"] as? [Any])?.count == 0, "nothing was stored")
        }
    }
}

/// Key rotation while the hub serves.
@Suite("Key rotation")
struct KeyRotationTests {
    @Test func rotationWhileReadsRunKeepsEveryItemReadableThenRetiresTheOldVersion() async throws {
        try await TestHub.with { hub in
            let owner = try hub.client("stationed-finance")
            var expected: [String: Data] = [:]
            for index in 0..<40 {
                let body = Data("机密 \(index) \(UUID().uuidString)".utf8)
                let id = try #require(try await owner.push(title: "标题 \(index)", unit: "finance-bureau", classification: "confidential", payload: body).json["id"] as? String)
                expected[id] = body
            }
            let admin = try hub.client("sun.hao")
            #expect(try await hub.client("zhang.wei").send(.POST, "/v1/admin/keys/rotate").status == 403)
            #expect(try await admin.get("/v1/admin/keys").json["current"] as? Int == 1)

            // Readers run before, during and after the rotation and its background rewrap.
            let stop = Flag()
            let readable = expected
            async let reads: [String] = withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        var failures: [String] = []
                        var rounds = 0
                        while !stop.isSet || rounds < 2 {
                            for (id, body) in readable {
                                let (response, plaintext) = try await owner.payload(id)
                                if response.status != 200 || plaintext != body { failures.append("\(id): \(response.status)") }
                                let metadata = try await owner.get("/v1/items/\(id)")
                                if metadata.status != 200 || !(metadata.json["title"] as? String ?? "").hasPrefix("标题") { failures.append("\(id) metadata: \(metadata.status)") }
                            }
                            rounds += 1
                        }
                        return failures
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            let rotated = try await admin.send(.POST, "/v1/admin/keys/rotate")
            #expect(rotated.status == 201)
            #expect(rotated.json["current"] as? Int == 2)
            // Pushed after the rotation: wrapped under version 2 from the start.
            let late = Data("after rotation".utf8)
            let lateID = try #require(try await owner.push(unit: "finance-bureau", classification: "confidential", payload: late).json["id"] as? String)
            // The background rewrap retires version 1 once no data key uses it (bounded wait, no fixed sleep).
            var versions: [[String: Any]] = []
            for _ in 0..<200 {
                versions = try await admin.get("/v1/admin/keys").json["versions"] as? [[String: Any]] ?? []
                if versions.count == 1 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            stop.set()
            #expect(try await reads == [])
            #expect(versions.count == 1)
            #expect(versions.first?["version"] as? Int == 2)
            #expect(versions.first?["data_keys"] as? Int == 41)
            #expect(try await owner.payload(lateID).plaintext == late)
            // The ring as kept (the file on SQLite, the sealed ring in PostgreSQL) no longer holds version 1.
            let ring = try await hub.keptKeyRing()
            #expect(ring.versionList.map(\.version) == [2])
            let trail = try await hub.store.auditEntries(matching: AuditQuery(action: "retireKeys"))
            #expect(trail.map(\.record.detail) == [["versions": "1", "current": "2"]])
        }
    }

    @Test func aSecondRotationDuringARewrapStillEndsWithOnlyTheNewestVersion() async throws {
        let data = try Paths.temporaryDirectory("rotate-twice")
        let store = try SQLiteStore(path: data + "/liaison.sqlite")
        let hub = Hub(policy: TestHub.examplePolicy, store: store, keyRing: try KeyRing.generate(), keyRingPath: data + "/keyring.json",
                      logger: TestHub.quietLogger, clock: TestClock().function)
        let owner = try hub.principal(commonName: "stationed-health")
        var ids: [String: [UInt8]] = [:]
        for index in 0..<600 {
            let body = Array("体检 \(index)".utf8)
            let receipt = try await hub.items.push(PushRequest(kind: "report", title: "t\(index)", unit: "health-commission", classification: "confidential",
                                                         contentType: "text/plain", payload: body), in: hub.context(for: owner))
            ids[receipt.item.item.id] = body
        }
        let admin = try hub.principal(commonName: "sun.hao")
        _ = try await hub.keys.rotate(in: hub.context(for: admin))
        #expect(try await hub.keys.rewrapDataKeys(batch: 256) == 256)
        _ = try await hub.keys.rotate(in: hub.context(for: admin))  // version 3 while 344 keys are still under 1
        #expect(try await hub.keys.retireUnusedKeyVersions() == [])
        #expect(try await hub.keys.completeKeyRotation() == [1, 2])
        #expect(hub.keys.ring.versionList.map(\.version) == [3])
        let reader = owner
        for (id, body) in ids {
            let delivered = try await hub.items.payload(id: id, in: hub.context(for: reader), presenting: try X509Certificate(file: TestPKI.shared.certificate("stationed-health")))
            let opened = try CMSEnvelope.open(try #require(delivered.body.whole), key: PrivateKey(pemFile: TestPKI.shared.key("stationed-health")),
                                              certificate: X509Certificate(file: TestPKI.shared.certificate("stationed-health")))
            #expect(opened == body)
        }
    }
}

/// A count several tasks add to.
final class Counter: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func add() { count.withLock { $0 += 1 } }
}

/// A flag set once by one task and read by others.
final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
