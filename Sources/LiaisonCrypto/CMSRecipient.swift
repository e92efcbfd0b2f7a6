import COpenSSL

/// The RecipientInfo of an envelope `CMSEnvelope.seal` writes (RFC 5652 §6.2): the content key, carried to the
/// reader's certificate as OpenSSL's CMS code carries it, identified by the certificate's issuer and serial number.
///
/// Written here rather than by `CMS_encrypt` because OpenSSL 3.0's CMS code validates the reader's EC key in full on
/// every envelope (`EVP_PKEY_derive_set_peer` multiplies the point by the group order: a second scalar multiplication
/// beside the agreement itself) and fetches its algorithms afresh each time: measured on this machine, 189 µs per
/// envelope to a P-256 reader against about 80 µs of key generation and agreement, and 45 µs to an RSA reader
/// against 23 µs of RSA-OAEP.
enum CMSRecipient {
    /// The RecipientInfo (DER) that carries `contentKey` to `certificate`, whose key is RSA or EC.
    static func info(carrying contentKey: [UInt8], to certificate: X509Certificate, keyType: KeyType) throws -> [UInt8] {
        guard let key = X509_get0_pubkey(certificate.certificate) else { throw CryptoError.fromQueue("X509_get0_pubkey") }
        let recipient = try issuerAndSerialNumber(of: certificate)
        return keyType == .rsa ? try keyTransport(contentKey, to: key, recipient) : try keyAgreement(contentKey, with: key, recipient)
    }

    /// KeyTransRecipientInfo, version 0: the content key encrypted with RSAES-OAEP, SHA-256 and MGF1 with SHA-256.
    static func keyTransport(_ contentKey: [UInt8], to key: OpaquePointer, _ recipient: [UInt8]) throws -> [UInt8] {
        guard let context = EVP_PKEY_CTX_new(key, nil) else { throw CryptoError.fromQueue("EVP_PKEY_CTX_new") }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_encrypt_init(context) == 1,
              EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_OAEP_PADDING) > 0,
              EVP_PKEY_CTX_set_rsa_oaep_md(context, EVP_sha256()) > 0,
              EVP_PKEY_CTX_set_rsa_mgf1_md(context, EVP_sha256()) > 0 else { throw CryptoError.fromQueue("EVP_PKEY_encrypt_init(RSA-OAEP)") }
        var length = 0
        guard EVP_PKEY_encrypt(context, nil, &length, contentKey, contentKey.count) == 1 else { throw CryptoError.fromQueue("EVP_PKEY_encrypt") }
        var encrypted = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_encrypt(context, &encrypted, &length, contentKey, contentKey.count) == 1 else { throw CryptoError.fromQueue("EVP_PKEY_encrypt") }
        return DER.sequence(DER.integer(0), recipient, oaep, DER.octets(Array(encrypted.prefix(length))))
    }

    /// KeyAgreeRecipientInfo, version 3 (RFC 5753): ephemeral-static ECDH on the reader's curve, the X9.63 KDF with
    /// SHA-256, and the content key wrapped with AES-256 key wrap.
    static func keyAgreement(_ contentKey: [UInt8], with key: OpaquePointer, _ recipient: [UInt8]) throws -> [UInt8] {
        // Room for any field up to 1,024 bits and its uncompressed point: the longest of the named curves, sect571, need
        // 72 and 145 bytes (P-521: 66 and 133).
        var secret = [UInt8](repeating: 0, count: 128), point = [UInt8](repeating: 0, count: 257)
        var secretLength = 0, pointLength = 0
        defer { OPENSSL_cleanse(&secret, secret.count) }
        guard liaison_ecdh_ephemeral(key, &secret, secret.count, &secretLength, &point, point.count, &pointLength) == 1 else {
            throw CryptoError.fromQueue("ECDH with an ephemeral EC key")
        }
        // X9.63: SHA-256(Z || counter 1 || ECC-CMS-SharedInfo); one block is the 256-bit key-encryption key.
        var input = Array(secret.prefix(secretLength)) + [0, 0, 0, 1] + sharedInfo
        defer { OPENSSL_cleanse(&input, input.count) }
        var keyEncryptionKey = Digest.sha256(input)
        defer { OPENSSL_cleanse(&keyEncryptionKey, keyEncryptionKey.count) }
        let wrapped = try wrap(contentKey, with: keyEncryptionKey)
        let publicKey = DER.tlv(0x03, [0] + point.prefix(pointLength))
        // originator [0] { originatorKey [1] { algorithm (parameters left out: the reader's curve), publicKey } }
        let originator = DER.tlv(0xA0, DER.tlv(0xA1, DER.sequence(DER.ecPublicKey) + publicKey))
        return DER.tlv(0xA1, DER.integer(3) + originator + agreement + DER.sequence(DER.sequence(recipient, DER.octets(wrapped))))
    }

    /// RFC 3394 AES key wrap of `key` under `keyEncryptionKey`.
    static func wrap(_ key: [UInt8], with keyEncryptionKey: [UInt8]) throws -> [UInt8] {
        let context = try CipherContext()
        EVP_CIPHER_CTX_set_flags(context.pointer, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW)
        try context.check(EVP_EncryptInit_ex(context.pointer, EVP_aes_256_wrap(), nil, keyEncryptionKey, nil), "EVP_EncryptInit_ex(AES-256 key wrap)")
        var wrapped = [UInt8](repeating: 0, count: key.count + 8)
        var written: Int32 = 0
        try context.check(EVP_EncryptUpdate(context.pointer, &wrapped, &written, key, Int32(key.count)), "EVP_EncryptUpdate(AES-256 key wrap)")
        guard Int(written) == wrapped.count else { throw CryptoError.malformed("AES key wrap gave \(written) bytes, not \(wrapped.count)") }
        return wrapped
    }

    /// IssuerAndSerialNumber of `certificate`.
    static func issuerAndSerialNumber(of certificate: X509Certificate) throws -> [UInt8] {
        let issuer = try DER.encoded({ i2d_X509_NAME(X509_get_issuer_name(certificate.certificate), $0) }, "i2d_X509_NAME")
        let serial = try DER.encoded({ i2d_ASN1_INTEGER(X509_get0_serialNumber(certificate.certificate), $0) }, "i2d_ASN1_INTEGER")
        return DER.sequence(issuer, serial)
    }

    /// RSAES-OAEP with SHA-256 and MGF1 with SHA-256 (hash parameters left out, as OpenSSL writes them).
    static let oaep = DER.sequence(DER.rsaesOAEP, DER.sequence(DER.tlv(0xA0, DER.sequence(DER.sha256)),
                                                               DER.tlv(0xA1, DER.sequence(DER.mgf1, DER.sequence(DER.sha256)))))
    static let keyWrap = DER.sequence(DER.aes256Wrap)
    /// dhSinglePass-stdDH-sha256kdf-scheme with AES-256 key wrap.
    static let agreement = DER.sequence(DER.stdDHSHA256KDF, keyWrap)
    /// ECC-CMS-SharedInfo: the wrap algorithm, no user keying material, and the key's length in bits (256).
    static let sharedInfo = DER.sequence(keyWrap, DER.tlv(0xA2, DER.octets([0, 0, 1, 0])))
}
