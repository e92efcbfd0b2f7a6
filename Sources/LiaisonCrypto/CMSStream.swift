import COpenSSL

/// A CMS AuthEnvelopedData (AES-256-GCM) written as its content streams through, in BER with indefinite lengths:
/// the same envelope `CMSEnvelope.seal` makes, for a payload too large to hold in memory. Stock `openssl cms
/// -decrypt -inform DER` and `CMSEnvelope.open` open it. Not shareable: one delivery writes it from one task.
public final class CMSStream {
    private let cms: OpaquePointer
    private let output: OpaquePointer
    private var input: OpaquePointer?

    public init(to recipient: X509Certificate) throws {
        let keyType = recipient.keyType
        guard keyType.isAddressable else { throw CryptoError.unaddressableKey(keyType.description) }
        guard let cms = CMS_encrypt(nil, nil, EVP_aes_256_gcm(), UInt32(CMS_BINARY | CMS_PARTIAL | CMS_STREAM)) else { throw CryptoError.fromQueue("CMS_encrypt") }
        guard let output = BIO_new(BIO_s_mem()) else {
            CMS_ContentInfo_free(cms)
            throw CryptoError.fromQueue("BIO_new")
        }
        self.cms = cms
        self.output = output
        try CMSEnvelope.addRecipient(recipient, keyType: keyType, to: cms)
        guard let input = BIO_new_CMS(output, cms) else { throw CryptoError.fromQueue("BIO_new_CMS") }
        self.input = input
    }

    deinit {
        // The filter chain ends in `output`: free the filters BIO_new_CMS pushed in front of it, then it.
        var link = input
        while let current = link, current != output {
            link = BIO_pop(current)
            BIO_free(current)
        }
        BIO_free(output)
        CMS_ContentInfo_free(cms)
    }

    /// Encrypts `bytes` and returns the envelope's bytes written so far.
    public func write(_ bytes: [UInt8]) throws -> [UInt8] {
        guard let input else { throw CryptoError.malformed("the envelope is already finished") }
        var offset = 0
        while offset < bytes.count {
            let length = Int32(min(bytes.count - offset, 1 << 30))
            let written = bytes.withUnsafeBytes { BIO_write(input, $0.baseAddress! + offset, length) }
            guard written == length else { throw CryptoError.fromQueue("BIO_write(CMS)") }
            offset += Int(written)
        }
        return drained()
    }

    /// Ends the content (the tag and the closing octets) and returns the envelope's last bytes.
    public func finish() throws -> [UInt8] {
        guard let input else { throw CryptoError.malformed("the envelope is already finished") }
        guard liaison_bio_flush(input) == 1 else { throw CryptoError.fromQueue("BIO_flush(CMS)") }
        return drained()
    }

    private func drained() -> [UInt8] {
        let bytes = CMSEnvelope.contents(of: output)
        _ = liaison_bio_reset(output)
        return bytes
    }
}
