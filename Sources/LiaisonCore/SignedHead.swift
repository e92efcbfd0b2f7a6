/// The hub's signature over the chain's head at one moment: proof, for anyone holding the hub's
/// certificate, that the trail reached entry `seq` with hash `hash` then. Cutting entries off the
/// end of the trail afterwards is detected against the latest signed head.
public struct SignedHead: Sendable, Equatable {
    public let seq: Int64
    public let hash: String
    public let timeMs: Int64
    /// SHA-256 with the hub's key (RSA PKCS #1 v1.5 or ECDSA) over `message`.
    public let signature: [UInt8]
    /// The SHA-256 (hex) of the DER of the certificate whose key signed: several hubs of one database each sign
    /// with their own. Nil for heads signed before hubs named themselves (checked with the answering hub's).
    public let signer: String?

    public init(seq: Int64, hash: String, timeMs: Int64, signature: [UInt8], signer: String? = nil) {
        self.seq = seq
        self.hash = hash
        self.timeMs = timeMs
        self.signature = signature
        self.signer = signer
    }

    /// The signed bytes: `liaison-audit-head-v1`, seq, hash and time_ms on four lines (UTF-8, no final newline).
    public static func message(seq: Int64, hash: String, timeMs: Int64) -> [UInt8] {
        Array("liaison-audit-head-v1\n\(seq)\n\(hash)\n\(timeMs)".utf8)
    }

    public var message: [UInt8] { Self.message(seq: seq, hash: hash, timeMs: timeMs) }
}
