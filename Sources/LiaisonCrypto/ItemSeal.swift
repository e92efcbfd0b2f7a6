import COpenSSL

/// HMAC-SHA-256 through libcrypto, for the seal that binds every stored item's fields (see `KeyRing.itemSeal`).
public enum HMACSHA256 {
    public static let size = 32

    public static func mac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size)
        var length = 0
        let result = key.withUnsafeBytes { keyBytes in
            message.withUnsafeBytes { messageBytes in
                EVP_Q_mac(nil, "HMAC", nil, "SHA256", nil, keyBytes.baseAddress, keyBytes.count,
                          messageBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), messageBytes.count, &out, size, &length)
            }
        }
        // HMAC-SHA-256 with a key in memory fails only when memory is exhausted.
        precondition(result != nil && length == size, "HMAC-SHA-256 failed")
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
