import COpenSSL
import Foundation

/// A private key (RSA or EC) read from an unencrypted PEM file: the hub's, to sign the audit
/// chain's heads and open what agencies sealed to it; a reader's, to open what the hub delivers.
public final class PrivateKey: @unchecked Sendable {
    // The key is only read after init; OpenSSL's use of a shared EVP_PKEY for signing and decryption is thread-safe.
    let key: OpaquePointer

    public init(pemFile path: String) throws {
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

    /// A signature over `message` with SHA-256.
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

/// The hub's own key and certificate: it signs with them and agencies seal to them.
public struct HubIdentity: Sendable {
    public let key: PrivateKey
    public let certificate: X509Certificate

    public init(key: PrivateKey, certificate: X509Certificate) {
        self.key = key
        self.certificate = certificate
    }

    public init(keyFile: String, certificateFile: String) throws {
        self.init(key: try PrivateKey(pemFile: keyFile), certificate: try X509Certificate(file: certificateFile))
    }
}
