import COpenSSL
import Foundation

/// An X.509 certificate held in memory, for checking who issued it and the signatures its key made,
/// and for sealing CMS envelopes to its key.
public final class X509Certificate: @unchecked Sendable {
    let certificate: OpaquePointer
    public let pem: String

    public init(pem: String) throws {
        let bytes = Array(pem.utf8)
        let parsed: OpaquePointer? = bytes.withUnsafeBufferPointer { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_X509(bio, nil, nil, nil)
        }
        guard let parsed else {
            ERR_clear_error()
            throw CryptoError.malformed("not a PEM certificate")
        }
        certificate = parsed
        self.pem = pem
    }

    public convenience init(file path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CryptoError.file(path: path, problem: "cannot be read") }
        do { try self.init(pem: text) } catch { throw CryptoError.file(path: path, problem: "is not a PEM certificate") }
    }

    /// A certificate in DER, as a TLS peer presents it.
    public init(der: [UInt8]) throws {
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return d2i_X509(nil, &cursor, buffer.count)
        }
        guard let parsed else {
            ERR_clear_error()
            throw CryptoError.malformed("not a DER certificate")
        }
        guard let text = Self.pem(of: parsed) else {
            X509_free(parsed)
            throw CryptoError.fromQueue("PEM_write_bio_X509")
        }
        certificate = parsed
        pem = text
    }

    private static func pem(of certificate: OpaquePointer) -> String? {
        guard let bio = BIO_new(BIO_s_mem()) else { return nil }
        defer { BIO_free(bio) }
        guard PEM_write_bio_X509(bio, certificate) == 1 else { return nil }
        var data: UnsafeMutablePointer<CChar>?
        let length = liaison_bio_get_mem_data(bio, &data)
        return data.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self) }
    }

    deinit { X509_free(certificate) }

    /// The SHA-256 of the certificate's DER, in hex: how a signed audit head names the certificate that signed it.
    public var fingerprint: String {
        let length = i2d_X509(certificate, nil)
        guard length > 0 else { return "" }
        var der = [UInt8](repeating: 0, count: Int(length))
        der.withUnsafeMutableBufferPointer { buffer in
            var cursor = buffer.baseAddress
            _ = i2d_X509(certificate, &cursor)
        }
        return Digest.sha256Hex(der)
    }

    /// The algorithm of the certificate's public key.
    public var keyType: KeyType {
        guard let key = X509_get0_pubkey(certificate) else { return .other("none") }
        return KeyType(of: key)
    }

    /// Whether `issuer`'s key signed this certificate, and the names match.
    public func isIssued(by issuer: X509Certificate) -> Bool {
        guard X509_NAME_cmp(X509_get_issuer_name(certificate), X509_get_subject_name(issuer.certificate)) == 0,
              let key = X509_get0_pubkey(issuer.certificate) else { return false }
        let verified = X509_verify(certificate, key) == 1
        ERR_clear_error()
        return verified
    }

    /// Whether this certificate's key made `signature` over `message` (SHA-256).
    public func verify(signature: [UInt8], of message: [UInt8]) -> Bool {
        guard let key = X509_get0_pubkey(certificate), let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, key) == 1 else {
            ERR_clear_error()
            return false
        }
        let verified = EVP_DigestVerify(context, signature, signature.count, message, message.count) == 1
        ERR_clear_error()
        return verified
    }

    /// Whether the certificate names `host` (a DNS name or an IP address) as its subject.
    public func matches(host: String) -> Bool {
        let matched = X509_check_ip_asc(certificate, host, 0) == 1 || X509_check_host(certificate, host, host.utf8.count, 0, nil) == 1
        ERR_clear_error()
        return matched
    }
}
