import COpenSSL

/// A failure inside LiaisonCrypto. Messages never contain key material or plaintext.
public enum CryptoError: Error, Equatable, CustomStringConvertible {
    /// OpenSSL refused an operation; `operation` names the call, `detail` is OpenSSL's reason if it gave one.
    case openssl(operation: String, detail: String)
    /// A ciphertext, its tag or its associated data did not authenticate.
    case authenticationFailed
    /// Input that cannot be what it claims to be (wrong length, truncated envelope).
    case malformed(String)
    /// A wrapped key names a key-ring version that the ring does not hold.
    case unknownKeyVersion(UInt32)
    /// A key ring, certificate or revocation list file that is missing, unreadable, too open, or not what it should be.
    case file(path: String, problem: String)
    /// A CMS envelope cannot be addressed to a key of this type.
    case unaddressableKey(String)
    /// A CMS envelope that is not addressed to the given key, or was altered.
    case unopenable(String)
    /// A shared key ring that other hubs kept changing while this one tried to change it.
    case contended(String)

    public var description: String {
        switch self {
        case .openssl(let operation, let detail): return "OpenSSL \(operation) failed: \(detail)"
        case .authenticationFailed: return "ciphertext failed authentication"
        case .malformed(let what): return "malformed input: \(what)"
        case .unknownKeyVersion(let version): return "key version \(version) is not in the key ring"
        case .file(let path, let problem): return "\(path) \(problem)"
        case .unaddressableKey(let type): return "a CMS envelope cannot be addressed to a \(type) key; use \(CMSEnvelope.addressableKeyTypes)"
        case .contended(let what): return what
        case .unopenable(let reason): return "the CMS envelope cannot be opened with this key (it is addressed to another key, or was altered): \(reason)"
        }
    }

    /// Builds an `.openssl` error from OpenSSL's error queue, which may be empty after a failed CMS_decrypt or GCM tag check, so callers decide from return values.
    static func fromQueue(_ operation: String) -> CryptoError {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return .openssl(operation: operation, detail: "no reason given") }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return .openssl(operation: operation, detail: String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}
