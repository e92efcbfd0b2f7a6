import COpenSSL

/// HMAC-SHA-256 through libcrypto, for the seal that binds every stored item's fields (see `KeyRing.itemSeal`).
/// The key is set once into a MAC context that each seal copies: fetching the algorithm and keying it for every
/// item (`EVP_Q_mac`) cost 2.3 µs a seal here, the copy 1.0 µs, and every read and listed item is checked.
public final class HMACSHA256: @unchecked Sendable {
    public static let size = 32
    /// Keyed once, then only read (duplicated), never updated: safe to share between threads.
    private let keyed: OpaquePointer

    public init(key: [UInt8]) {
        // HMAC-SHA-256 is always available in libcrypto; a failure here is memory exhaustion.
        guard let algorithm = EVP_MAC_fetch(nil, "HMAC", nil) else { preconditionFailure("HMAC is not available in libcrypto") }
        defer { EVP_MAC_free(algorithm) }
        guard let context = EVP_MAC_CTX_new(algorithm) else { preconditionFailure("EVP_MAC_CTX_new failed") }
        let keyed = "digest".withCString { name in
            "SHA256".withCString { digest in
                var parameters = [OSSL_PARAM_construct_utf8_string(name, UnsafeMutablePointer(mutating: digest), 0), OSSL_PARAM_construct_end()]
                return key.withUnsafeBytes { EVP_MAC_init(context, $0.baseAddress?.assumingMemoryBound(to: UInt8.self), $0.count, &parameters) }
            }
        }
        precondition(keyed == 1, "EVP_MAC_init(HMAC-SHA-256) failed")
        self.keyed = context
    }

    deinit { EVP_MAC_CTX_free(keyed) }

    /// The MAC of the parts one after the other (as of their concatenation, without building it).
    public func mac(_ parts: [UInt8]...) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Self.size)
        var length = 0
        guard let context = EVP_MAC_CTX_dup(keyed) else { preconditionFailure("EVP_MAC_CTX_dup failed") }
        defer { EVP_MAC_CTX_free(context) }
        let ok = parts.allSatisfy { part in part.withUnsafeBytes { EVP_MAC_update(context, $0.baseAddress?.assumingMemoryBound(to: UInt8.self), $0.count) } == 1 }
            && EVP_MAC_final(context, &out, &length, Self.size) == 1
        precondition(ok && length == Self.size, "HMAC-SHA-256 failed")
        return out
    }

    /// Compares in time that does not depend on where the first difference is.
    public static func equal(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }
}
