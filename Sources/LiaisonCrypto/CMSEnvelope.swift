import COpenSSL
public import Foundation

/// CMS (RFC 5652) AuthEnvelopedData with AES-256-GCM content encryption, in DER: how the hub delivers
/// a confidential payload to the certificate a reader presented, and how an agency seals a payload to the hub.
/// RSA recipients get the content key through RSAES-OAEP with SHA-256; EC recipients through ECDH
/// (ephemeral-static, X9.63 KDF with SHA-256, AES key wrap).
public enum CMSEnvelope {
    /// For error messages: the key types an envelope can be addressed to.
    public static let addressableKeyTypes = "RSA (RSAES-OAEP with SHA-256) or EC, e.g. P-256 (ECDH)"

    /// The envelope, in DER, of `content` to `recipient`'s key. Written here (`CMSRecipient`, `DER`) in the layout
    /// OpenSSL's `CMS_encrypt` gives it, at about half the cost; the ciphertext is written into the envelope in place.
    public static func seal(_ content: some ContiguousBytes, to recipient: X509Certificate) throws -> [UInt8] {
        let keyType = recipient.keyType
        guard keyType.isAddressable else { throw CryptoError.unaddressableKey(keyType.description) }
        var contentKey = try SecureRandom.bytes(AESGCM.keySize)
        defer { OPENSSL_cleanse(&contentKey, contentKey.count) }
        let recipients = DER.tlv(0x31, try CMSRecipient.info(carrying: contentKey, to: recipient, keyType: keyType))
        let nonce = try SecureRandom.bytes(AESGCM.nonceSize)
        let algorithm = DER.sequence(DER.aes256GCM, DER.sequence(DER.octets(nonce), DER.integer(UInt8(AESGCM.tagSize))))
        return try content.withUnsafeBytes { plaintext in
            let count = plaintext.count
            // From the inside out, as each head needs the length of all it holds, ciphertext and tag included.
            // EncryptedContentInfo { id-data, AES-256-GCM with its nonce and tag length, [0] ciphertext }
            let contentInfo = DER.data + algorithm + DER.head(0x80, count)
            let mac = DER.head(0x04, AESGCM.tagSize)
            // AuthEnvelopedData { version 0, recipientInfos, authEncryptedContentInfo, mac }
            let enveloped = DER.integer(0) + recipients + DER.head(0x30, contentInfo.count + count) + contentInfo
            let envelopedLength = enveloped.count + count + mac.count + AESGCM.tagSize
            let envelopedHead = DER.head(0x30, envelopedLength)
            let explicitHead = DER.head(0xA0, envelopedHead.count + envelopedLength)
            // ContentInfo { id-ct-authEnvelopedData, [0] AuthEnvelopedData }
            let outerHead = DER.head(0x30, DER.authEnvelopedData.count + explicitHead.count + envelopedHead.count + envelopedLength)
            var envelope = outerHead + DER.authEnvelopedData + explicitHead + envelopedHead + enveloped
            let start = envelope.count
            envelope.reserveCapacity(start + count + mac.count + AESGCM.tagSize)
            envelope.append(contentsOf: repeatElement(0, count: count))
            envelope += mac
            envelope.append(contentsOf: repeatElement(0, count: AESGCM.tagSize))
            try envelope.withUnsafeMutableBufferPointer { buffer in
                let base = buffer.baseAddress! + start
                try AESGCM.encrypt(plaintext, key: contentKey, nonce: nonce, associatedData: [], into: base, tag: base + count + mac.count)
            }
            return envelope
        }
    }

    /// Addresses an envelope OpenSSL writes (`CMSStream`) to `recipient`: RSAES-OAEP with SHA-256 for RSA, the X9.63 KDF
    /// with SHA-256 for ECDH, as `CMSRecipient` does for the envelopes written here.
    static func addRecipient(_ recipient: X509Certificate, keyType: KeyType, to cms: OpaquePointer) throws {
        guard let info = CMS_add1_recipient_cert(cms, recipient.certificate, UInt32(CMS_BINARY | CMS_KEY_PARAM)),
              let parameters = CMS_RecipientInfo_get0_pkey_ctx(info) else { throw CryptoError.fromQueue("CMS_add1_recipient_cert") }
        if keyType == .rsa {
            guard EVP_PKEY_CTX_set_rsa_padding(parameters, RSA_PKCS1_OAEP_PADDING) > 0,
                  EVP_PKEY_CTX_set_rsa_oaep_md(parameters, EVP_sha256()) > 0 else { throw CryptoError.fromQueue("EVP_PKEY_CTX_set_rsa_oaep_md") }
        } else {
            guard EVP_PKEY_CTX_set_ecdh_kdf_md(parameters, EVP_sha256()) > 0 else { throw CryptoError.fromQueue("EVP_PKEY_CTX_set_ecdh_kdf_md") }
        }
    }

    /// Opens an AuthEnvelopedData addressed to `certificate`'s key. Anything else (another structure,
    /// another recipient, an altered envelope) is an error; the content is never returned unauthenticated.
    public static func open(_ envelope: some ContiguousBytes, key: PrivateKey, certificate: X509Certificate) throws -> [UInt8] {
        try envelope.withUnsafeBytes { bytes in
            guard let input = BIO_new_mem_buf(bytes.baseAddress, Int32(bytes.count)) else { throw CryptoError.fromQueue("BIO_new_mem_buf") }
            defer { BIO_free(input) }
            let cms = try authEnveloped(from: input)
            defer { CMS_ContentInfo_free(cms) }
            guard let output = BIO_new(BIO_s_mem()) else { throw CryptoError.fromQueue("BIO_new") }
            defer { BIO_free(output) }
            // A failed decryption may leave OpenSSL's queue empty (measured with OpenSSL 3): the return value decides.
            guard CMS_decrypt(cms, key.key, certificate.certificate, nil, output, UInt32(CMS_BINARY)) == 1 else {
                let reason = CryptoError.fromQueue("CMS_decrypt")
                throw CryptoError.unopenable(reason.description)
            }
            return contents(of: output)
        }
    }

    /// Opens an envelope kept in the file at `envelopePath` into the file at `plaintextPath` (which should exist, with
    /// the mode wanted), so that the plaintext is written out as it is decrypted, never held in memory. The plaintext
    /// file is complete and authentic only if this returns; on an error its content must be discarded.
    public static func open(file envelopePath: String, into plaintextPath: String, key: PrivateKey, certificate: X509Certificate) throws {
        guard let input = BIO_new_file(envelopePath, "rb") else { throw CryptoError.fromQueue("BIO_new_file(\(envelopePath))") }
        defer { BIO_free(input) }
        let cms = try authEnveloped(from: input)
        defer { CMS_ContentInfo_free(cms) }
        guard let output = BIO_new_file(plaintextPath, "wb") else { throw CryptoError.fromQueue("BIO_new_file(\(plaintextPath))") }
        defer { BIO_free(output) }
        guard CMS_decrypt(cms, key.key, certificate.certificate, nil, output, UInt32(CMS_BINARY)) == 1 else {
            throw CryptoError.unopenable(CryptoError.fromQueue("CMS_decrypt").description)
        }
        guard liaison_bio_flush(output) == 1 else { throw CryptoError.fromQueue("BIO_flush(\(plaintextPath))") }
    }

    /// The AuthEnvelopedData read from `bio` (the caller frees it); anything else is `malformed`.
    static func authEnveloped(from bio: OpaquePointer) throws -> OpaquePointer {
        guard let cms = d2i_CMS_bio(bio, nil) else {
            ERR_clear_error()
            throw CryptoError.malformed("not a DER-encoded CMS structure")
        }
        guard OBJ_obj2nid(CMS_get0_type(cms)) == NID_id_smime_ct_authEnvelopedData else {
            CMS_ContentInfo_free(cms)
            throw CryptoError.malformed("the CMS structure is not AuthEnvelopedData; seal with AES-256-GCM (openssl cms -encrypt -aes-256-gcm)")
        }
        return cms
    }

    static func contents(of bio: OpaquePointer) -> [UInt8] {
        var data: UnsafeMutablePointer<CChar>?
        let length = liaison_bio_get_mem_data(bio, &data)
        guard let data, length > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: data, count: length))
    }
}
