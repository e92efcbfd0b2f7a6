import COpenSSL
public import Foundation

/// Signs with the hub's private key (RSA or EC, SHA-256), for the audit chain's heads.
public final class HubSigner: @unchecked Sendable {
    // The key is only read after init; OpenSSL's signing with a shared EVP_PKEY is thread-safe.
    private let key: OpaquePointer

    public init(privateKeyPEMFile path: String) throws {
        guard let bio = BIO_new_file(path, "r") else {
            ERR_clear_error()
            throw CryptoError.file(path: path, problem: "cannot be read")
        }
        defer { BIO_free(bio) }
        guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
            ERR_clear_error()
            throw CryptoError.file(path: path, problem: "is not an unencrypted PEM private key")
        }
        self.key = key
    }

    deinit { EVP_PKEY_free(key) }

    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw CryptoError.fromQueue("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, EVP_sha256(), nil, key) == 1 else { throw CryptoError.fromQueue("EVP_DigestSignInit") }
        var length = 0
        guard EVP_DigestSign(context, nil, &length, message, message.count) == 1 else { throw CryptoError.fromQueue("EVP_DigestSign") }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(context, &signature, &length, message, message.count) == 1 else { throw CryptoError.fromQueue("EVP_DigestSign") }
        return Array(signature.prefix(length))
    }
}

/// A PEM certificate held in memory, for checking who issued it and the signatures its key made.
public final class PEMCertificate: @unchecked Sendable {
    private let certificate: OpaquePointer
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

    deinit { X509_free(certificate) }

    /// Whether `issuer`'s key signed this certificate, and the names match.
    public func isIssued(by issuer: PEMCertificate) -> Bool {
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
