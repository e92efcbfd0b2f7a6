import COpenSSL

/// HMAC-SHA-256 through libcrypto, for the seal that binds every stored item's fields (see `KeyRing.itemSeal`).
/// The key is hashed once into the inner and outer SHA-256 states that each MAC starts from (`liaison_hmac_sha256_*`
/// in the shim): every read and listed item is checked, and an EVP_MAC context duplicated per MAC cost 12% of a
/// listing's CPU (perf); keying one per MAC (`EVP_Q_mac`) cost more still.
public final class HMACSHA256: @unchecked Sendable {
    public static let size = 32
    /// Keyed once, then only copied from, never updated: safe to share between threads.
    private let keyed: UnsafeMutablePointer<liaison_hmac_sha256_key>

    public init(key: [UInt8]) {
        keyed = .allocate(capacity: 1)
        key.withUnsafeBufferPointer { liaison_hmac_sha256_key_init(keyed, $0.baseAddress, $0.count) }
    }

    deinit {
        OPENSSL_cleanse(keyed, MemoryLayout<liaison_hmac_sha256_key>.size)
        keyed.deallocate()
    }

    /// The MAC of the parts one after the other (as of their concatenation, without building it).
    public func mac(_ parts: [UInt8]...) -> [UInt8] {
        var context = SHA256_CTX()
        liaison_hmac_sha256_begin(keyed, &context)
        for part in parts { part.withUnsafeBytes { liaison_hmac_sha256_update(&context, $0.baseAddress, $0.count) } }
        var out = [UInt8](repeating: 0, count: Self.size)
        liaison_hmac_sha256_end(keyed, &context, &out)
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
