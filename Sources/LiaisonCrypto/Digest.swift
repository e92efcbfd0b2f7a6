public import Foundation
import COpenSSL

/// SHA-256 through libcrypto.
public enum Digest {
    public static func sha256<Bytes: ContiguousBytes>(_ data: Bytes) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = data.withUnsafeBytes { raw in
            EVP_Digest(raw.baseAddress, raw.count, &out, &length, EVP_sha256(), nil)
        }
        // EVP_Digest with SHA-256 cannot fail short of memory exhaustion.
        precondition(ok == 1, "EVP_Digest(SHA-256) failed")
        return out
    }

    public static func sha256Hex<Bytes: ContiguousBytes>(_ data: Bytes) -> String {
        hex(sha256(data))
    }

    public static func hex(_ bytes: [UInt8]) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var chars = [UInt8]()
        chars.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            chars.append(digits[Int(byte >> 4)])
            chars.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: chars, as: UTF8.self)
    }
}

/// SHA-256 of many small inputs one after another (the audit trail's entries), with one libcrypto context and
/// one fetched algorithm for all: `EVP_Digest` allocates a context and looks the algorithm up, under a lock, per call.
public final class SHA256Digester {
    private let context: OpaquePointer
    private let algorithm: OpaquePointer

    public init() {
        // These fail only when memory is exhausted or libcrypto has no SHA-256.
        guard let context = EVP_MD_CTX_new(), let algorithm = EVP_MD_fetch(nil, "SHA256", nil) else { preconditionFailure("SHA-256 is not available from libcrypto") }
        self.context = context
        self.algorithm = algorithm
    }

    deinit {
        EVP_MD_CTX_free(context)
        EVP_MD_free(algorithm)
    }

    /// Writes the 32-byte digest of `input` to `digest`.
    public func digest(_ input: UnsafeRawBufferPointer, into digest: UnsafeMutableRawBufferPointer) {
        precondition(digest.count >= 32)
        var length: UInt32 = 0
        let ok = EVP_DigestInit_ex2(context, algorithm, nil) == 1 && EVP_DigestUpdate(context, input.baseAddress, input.count) == 1
            && EVP_DigestFinal_ex(context, digest.baseAddress!.assumingMemoryBound(to: UInt8.self), &length) == 1
        precondition(ok, "SHA-256 through libcrypto failed")
    }
}

/// SHA-256 over bytes that arrive in pieces (a streamed payload), through libcrypto.
public final class SHA256Stream {
    private let context: OpaquePointer

    public init() {
        // Allocation and SHA-256 initialisation fail only when memory is exhausted.
        guard let context = EVP_MD_CTX_new(), EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else { preconditionFailure("EVP_DigestInit_ex(SHA-256) failed") }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: some ContiguousBytes) {
        let ok = bytes.withUnsafeBytes { EVP_DigestUpdate(context, $0.baseAddress, $0.count) }
        precondition(ok == 1, "EVP_DigestUpdate(SHA-256) failed")
    }

    /// The digest of everything given, in lowercase hex.
    public func finishHex() -> String {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        precondition(EVP_DigestFinal_ex(context, &out, &length) == 1, "EVP_DigestFinal_ex(SHA-256) failed")
        return Digest.hex(out)
    }
}
