import COpenSSL

/// A certificate revocation list from the hub's CA, checked once per TLS connection.
/// swift-nio-ssl's TLS has no CRL support, so revoked certificates are refused after the handshake.
public final class RevocationList: @unchecked Sendable {
    // Immutable after init; OpenSSL's CRL lookup locks internally when it sorts the revoked list.
    private let crl: OpaquePointer
    public let revokedCount: Int

    /// Loads a PEM CRL and checks that the CA in `issuerPEMFile` signed it.
    public init(pemFile: String, issuerPEMFile: String) throws {
        guard let crl = Self.read(pemFile, PEM_read_bio_X509_CRL) else {
            throw CryptoError.file(path: pemFile, problem: "is not a PEM certificate revocation list")
        }
        guard let issuer = Self.read(issuerPEMFile, PEM_read_bio_X509) else {
            X509_CRL_free(crl)
            throw CryptoError.file(path: issuerPEMFile, problem: "is not a PEM certificate")
        }
        defer { X509_free(issuer) }
        guard X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) == 0,
              let key = X509_get0_pubkey(issuer), X509_CRL_verify(crl, key) == 1 else {
            ERR_clear_error()
            X509_CRL_free(crl)
            throw CryptoError.file(path: pemFile, problem: "was not issued and signed by the CA in \(issuerPEMFile)")
        }
        self.crl = crl
        revokedCount = Int(liaison_crl_revoked_count(crl))
    }

    deinit { X509_CRL_free(crl) }

    /// Whether the DER certificate's serial number is on the list (an unparsable certificate counts as revoked).
    public func isRevoked(certificateDER der: [UInt8]) -> Bool {
        der.withUnsafeBufferPointer { buffer -> Bool in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            guard let certificate = d2i_X509(nil, &cursor, buffer.count) else {
                ERR_clear_error()
                return true
            }
            defer { X509_free(certificate) }
            var entry: OpaquePointer? = nil
            return X509_CRL_get0_by_serial(crl, &entry, X509_get_serialNumber(certificate)) == 1
        }
    }

    private static func read(_ path: String, _ reader: (OpaquePointer?, UnsafeMutablePointer<OpaquePointer?>?, (@convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32)?, UnsafeMutableRawPointer?) -> OpaquePointer?) -> OpaquePointer? {
        guard let bio = BIO_new_file(path, "r") else {
            ERR_clear_error()
            return nil
        }
        defer { BIO_free(bio) }
        let value = reader(bio, nil, nil, nil)
        if value == nil { ERR_clear_error() }
        return value
    }
}
