import Foundation
import LiaisonCrypto
import Testing

@Suite("LiaisonCrypto over system OpenSSL")
struct CryptoTests {
    let key = try! SecureRandom.bytes(32)
    let aad = Array("item-1\nowner\nconfidential".utf8)

    @Test func aesGCMRoundTripsEverySize() throws {
        for size in [0, 1, 15, 16, 17, 4096, 1 << 20] {
            let plaintext = try SecureRandom.bytes(size)
            let sealed = try AESGCM.seal(plaintext, key: key, associatedData: aad)
            #expect(sealed.count == size + AESGCM.overhead)
            #expect(try AESGCM.open(sealed, key: key, associatedData: aad) == plaintext)
        }
    }

    @Test func sealingTwiceUsesFreshNonces() throws {
        let a = try AESGCM.seal(Array("same".utf8), key: key, associatedData: aad)
        let b = try AESGCM.seal(Array("same".utf8), key: key, associatedData: aad)
        #expect(a != b)
    }

    @Test func tamperedCiphertextTagNonceOrAssociatedDataIsRejected() throws {
        let sealed = try AESGCM.seal(Array("机密内容".utf8), key: key, associatedData: aad)
        for position in [0, AESGCM.nonceSize, sealed.count - 1] {  // nonce, ciphertext, tag
            var tampered = sealed
            tampered[position] ^= 0x01
            #expect(throws: CryptoError.authenticationFailed) { try AESGCM.open(tampered, key: key, associatedData: aad) }
        }
        #expect(throws: CryptoError.authenticationFailed) { try AESGCM.open(sealed, key: key, associatedData: Array("item-2\nowner\nconfidential".utf8)) }
        #expect(throws: CryptoError.authenticationFailed) { try AESGCM.open(sealed, key: try SecureRandom.bytes(32), associatedData: aad) }
        #expect(throws: CryptoError.self) { try AESGCM.open(Array(sealed.prefix(10)), key: key, associatedData: aad) }
    }

    @Test func payloadsAreBoundToTheirItemOwnerAndLevel() throws {
        let cipher = PayloadCipher(keyRing: try KeyRing.generate())
        let binding = PayloadBinding(itemID: "01ABC", owner: "stationed-finance", level: "confidential")
        let sealed = try cipher.seal(Array("线索".utf8), binding: binding)
        #expect(try cipher.open(sealed, binding: binding) == Array("线索".utf8))
        for other in [PayloadBinding(itemID: "01ABD", owner: "stationed-finance", level: "confidential"),
                      PayloadBinding(itemID: "01ABC", owner: "office-3", level: "confidential"),
                      PayloadBinding(itemID: "01ABC", owner: "stationed-finance", level: "restricted")] {
            #expect(throws: CryptoError.authenticationFailed) { try cipher.open(sealed, binding: other) }
        }
    }

    @Test func metadataIsSealedUnderThePayloadsKeyAndBoundToTheItem() throws {
        let cipher = PayloadCipher(keyRing: try KeyRing.generate())
        let binding = PayloadBinding(itemID: "01ABC", owner: "stationed-finance", level: "confidential")
        let sealed = try cipher.seal(Array("载荷".utf8), metadata: Array("标题".utf8), binding: binding)
        let metadata = try #require(sealed.metadata)
        #expect(try cipher.openMetadata(metadata, wrappedKey: sealed.payload.wrappedKey, binding: binding) == Array("标题".utf8))
        #expect(try cipher.open(sealed.payload, binding: binding) == Array("载荷".utf8))
        // The metadata is not a payload, and belongs to its item only.
        #expect(throws: CryptoError.authenticationFailed) {
            try cipher.open(SealedPayload(wrappedKey: sealed.payload.wrappedKey, ciphertext: metadata), binding: binding)
        }
        #expect(throws: CryptoError.authenticationFailed) {
            try cipher.openMetadata(metadata, wrappedKey: sealed.payload.wrappedKey, binding: PayloadBinding(itemID: "01ABC", owner: "office-3", level: "confidential"))
        }
    }

    @Test func keyRingIsCreatedOwnerOnlyAndReloadsTheSameKeys() throws {
        let path = try Paths.temporaryDirectory("ring") + "/keyring.json"
        let ring = try KeyRing.loadOrCreate(at: path)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let binding = PayloadBinding(itemID: "x", owner: "o", level: "confidential")
        let sealed = try PayloadCipher(keyRing: ring).seal(Array("abc".utf8), binding: binding)
        let reloaded = try KeyRing.loadOrCreate(at: path)
        #expect(try PayloadCipher(keyRing: reloaded).open(sealed, binding: binding) == Array("abc".utf8))
        #expect(reloaded.current == 1)
    }

    @Test func keyRingReadableByOthersIsRefusedWithTheFix() throws {
        let path = try Paths.temporaryDirectory("ring") + "/keyring.json"
        _ = try KeyRing.loadOrCreate(at: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        do {
            _ = try KeyRing.load(at: path)
            Issue.record("a world-readable key ring was accepted")
        } catch let error as CryptoError {
            #expect(error.description.contains("chmod 600 \(path)"))
        }
    }

    @Test func aSealInFlightKeepsItsVersionCountedAcrossARotationAndARetirement() async throws {
        let custody = KeyCustody(ring: try KeyRing.generate(), path: nil)
        let (entered, enteredContinuation) = AsyncStream.makeStream(of: Void.self)
        let (release, releaseContinuation) = AsyncStream.makeStream(of: Void.self)
        let seal = Task {
            await custody.sealing { cipher in
                enteredContinuation.yield()
                for await _ in release { break }
                return cipher.keyRing.current
            }
        }
        for await _ in entered { break }
        _ = try await custody.rotate()
        #expect(custody.hasSealsInFlight([1]), "the seal under version 1 is still on its way")
        #expect(try await custody.retire([]) && custody.hasSealsInFlight([1]))
        releaseContinuation.yield()
        #expect(await seal.value == 1)
        #expect(!custody.hasSealsInFlight([1]))
        #expect(custody.oldVersions == [1])
    }

    @Test func aMasterKeySealsARingThatOnlyItOpens() throws {
        let ring = try KeyRing.generate()
        let master = try MasterKey(text: try MasterKey.generateText())
        let sealed = try master.seal(ring)
        #expect(try master.open(sealed).versionList.map(\.version) == ring.versionList.map(\.version))
        #expect(try master.open(sealed).itemSeal([1, 2, 3]) == ring.itemSeal([1, 2, 3]))
        #expect(throws: CryptoError.authenticationFailed) { try MasterKey(text: try MasterKey.generateText()).open(sealed) }
        #expect(throws: CryptoError.self) { try MasterKey(text: "c2hvcnQ=") }
        let path = try Paths.temporaryDirectory("master") + "/master.key"
        #expect(FileManager.default.createFile(atPath: path, contents: Data("  \(try MasterKey.generateText())\n".utf8), attributes: [.posixPermissions: 0o600]))
        _ = try MasterKey.load(at: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: path)
        #expect { try MasterKey.load(at: path) } throws: { "\($0)".contains("chmod 600 \(path)") }
    }

    @Test func sha256MatchesTheKnownVector() {
        #expect(Digest.sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // The digester reuses one context: each digest is of its own input only.
        let digester = SHA256Digester()
        var digest = [UInt8](repeating: 0, count: 32)
        for input in ["abc", "", "abc"] {
            Array(input.utf8).withUnsafeBytes { raw in digest.withUnsafeMutableBytes { digester.digest(raw, into: $0) } }
            #expect(Digest.hex(digest) == Digest.sha256Hex(Array(input.utf8)))
        }
        #expect(Digest.hex(digest) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    /// Small draws come from a reservoir refilled 4 KiB at a time: across several refills no draw repeats another or
    /// is left zeroed, and empty and large draws (straight from OpenSSL) work too.
    @Test func randomDrawsNeverRepeatAcrossRefills() throws {
        var seen = Set<[UInt8]>()
        for index in 0..<2000 {
            let draw = try SecureRandom.bytes(index % 3 == 0 ? 12 : 32)
            #expect(draw.count == (index % 3 == 0 ? 12 : 32))
            #expect(draw.contains { $0 != 0 })
            seen.insert(draw)
        }
        #expect(seen.count == 2000)
        #expect(try SecureRandom.bytes(0).isEmpty)
        let large = try SecureRandom.bytes(300)
        #expect(large.count == 300 && Set(large).count > 100)
    }

    /// RFC 4231's HMAC-SHA-256 test cases 1, 2, 4 and 6 (a key longer than the block), one MAC after another from the
    /// same keyed value, and a message given in parts MACs as the whole.
    @Test func hmacMatchesRFC4231() {
        func bytes(_ hex: String) -> [UInt8] {
            stride(from: 0, to: hex.count, by: 2).map { UInt8(hex.dropFirst($0).prefix(2), radix: 16)! }
        }
        let cases: [(key: [UInt8], data: [UInt8], mac: String)] = [
            (Array(repeating: 0x0b, count: 20), Array("Hi There".utf8), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            (bytes("0102030405060708090a0b0c0d0e0f10111213141516171819"), Array(repeating: 0xcd, count: 50),
             "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
            (Array(repeating: 0xaa, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        ]
        for (key, data, mac) in cases {
            let hmac = HMACSHA256(key: key)
            #expect(Digest.hex(hmac.mac(data)) == mac)
            #expect(Digest.hex(hmac.mac(Array(data.prefix(3)), [], Array(data.dropFirst(3)))) == mac)
            #expect(Digest.hex(hmac.mac(data)) == mac)
        }
    }

    @Test func chunkTagsAreGMACUnderAKeyOfTheChunksOwnAndOlderHMACTagsStillCheck() throws {
        // The GCM specification's test case 13: AES-256, zero key and nonce, nothing to authenticate.
        #expect(Digest.hex(try AESGCM.tag(of: [], singleUseKey: [UInt8](repeating: 0, count: 32))) == "530f8afbc74536b9a963b4f1c4cb738b")
        let ring = try KeyRing.generate()
        let chunk = try SecureRandom.bytes(1 << 20)
        let header = PayloadChunk.header(itemID: "01A", index: 2, last: false)
        let tag = try ring.chunkTag(header, chunk)
        #expect(tag.count == 16)
        #expect(try ring.chunkTagMatches(tag, header: header, chunk: chunk))
        var altered = chunk
        altered[123_456] ^= 1
        #expect(try !ring.chunkTagMatches(tag, header: header, chunk: altered))
        #expect(try !ring.chunkTagMatches(Array(tag.prefix(15)), header: header, chunk: chunk))
        for other in [PayloadChunk.header(itemID: "01B", index: 2, last: false), PayloadChunk.header(itemID: "01A", index: 3, last: false),
                      PayloadChunk.header(itemID: "01A", index: 2, last: true)] {
            #expect(try !ring.chunkTagMatches(tag, header: other, chunk: chunk), "moved to \(String(decoding: other, as: UTF8.self))")
        }
        #expect(try !KeyRing.generate().chunkTagMatches(tag, header: header, chunk: chunk), "another ring's")
        // A chunk stored before: the HMAC-SHA256 under the ring's integrity key of the header and the bytes.
        let kept = try JSONSerialization.jsonObject(with: ring.encoded()) as? [String: Any]
        let encodedKey = try #require(kept?["integrity_key"] as? String)
        let integrityKey = try #require(Data(base64Encoded: encodedKey))
        let older = HMACSHA256(key: Array(integrityKey)).mac(header, chunk)
        #expect(try ring.chunkTagMatches(older, header: header, chunk: chunk))
        #expect(try !ring.chunkTagMatches(older, header: header, chunk: altered))
        #expect(try !ring.chunkTagMatches(older, header: PayloadChunk.header(itemID: "01A", index: 3, last: false), chunk: chunk))
    }

    @Test func commonNameIsReadFromADERCertificate() throws {
        let pem = try String(contentsOfFile: TestPKI.shared.certificate("zhang.wei"), encoding: .utf8)
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        let der = try #require(Data(base64Encoded: body))
        #expect(CertificateIdentity.commonName(der: Array(der)) == "zhang.wei")
        #expect(CertificateIdentity.commonName(der: [0x30, 0x03, 0x02, 0x01, 0x00]) == nil)
    }
}

import LiaisonAPI

@Suite("Wire timestamps")
struct WireTimestampTests {
    let transcoder = MillisecondDateTranscoder()

    @Test func timestampsRoundTripToTheMillisecond() throws {
        for millis: Int64 in [0, 1_795_289_384_416, 1_795_289_384_000, 946_684_799_999] {
            let date = Date(timeIntervalSince1970: Double(millis) / 1000)
            let text = try transcoder.encode(date)
            #expect(Int64((try transcoder.decode(text).timeIntervalSince1970 * 1000).rounded()) == millis, "\(text)")
        }
        #expect(try transcoder.encode(Date(timeIntervalSince1970: 1_795_289_384.416)) == "2026-11-21T19:29:44.416Z")
    }

    @Test func otherRFC3339FormsStillParse() throws {
        #expect(try transcoder.decode("2026-11-21T19:29:44Z") == Date(timeIntervalSince1970: 1_795_289_384))
        #expect(try transcoder.decode("2026-11-22T03:29:44+08:00") == Date(timeIntervalSince1970: 1_795_289_384))
        #expect(throws: DecodingError.self) { try transcoder.decode("yesterday") }
    }
}
