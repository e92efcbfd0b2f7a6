import COpenSSL
import Synchronization

/// Random bytes from OpenSSL's CSPRNG.
///
/// Small draws (keys, nonces) come from a reservoir filled 4 KiB at a time: in OpenSSL 3.0 each `RAND_bytes` call
/// locks the DRBG and checks for a fork, about 1.7 µs here, and a confidential push drew four times (its data key and
/// three nonces), a sealed delivery twice. Bytes handed out are zeroed in the reservoir, so none is given twice and
/// none stays behind once used. The hub never forks (children are spawned), so the reservoir is never shared with a
/// child process.
public enum SecureRandom {
    private static let reservoirSize = 4096
    /// Draws larger than this go straight to OpenSSL.
    private static let largestPooled = 256
    private static let reservoir = Mutex<(bytes: [UInt8], used: Int)>(([UInt8](repeating: 0, count: reservoirSize), reservoirSize))

    public static func bytes(_ count: Int) throws -> [UInt8] {
        guard count > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: count)
        guard count <= largestPooled else {
            guard RAND_bytes(&out, Int32(count)) == 1 else { throw CryptoError.fromQueue("RAND_bytes") }
            return out
        }
        try reservoir.withLock { reservoir in
            if reservoir.used + count > reservoirSize {
                guard RAND_bytes(&reservoir.bytes, Int32(reservoirSize)) == 1 else { throw CryptoError.fromQueue("RAND_bytes") }
                reservoir.used = 0
            }
            let start = reservoir.used
            reservoir.bytes.withUnsafeMutableBufferPointer { pool in
                out.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: pool.baseAddress! + start, count: count) }
                (pool.baseAddress! + start).update(repeating: 0, count: count)
            }
            reservoir.used += count
        }
        return out
    }
}
