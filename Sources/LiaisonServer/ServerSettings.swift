public import LiaisonCrypto

/// Where the hub listens and which certificates it uses.
public struct ServerSettings: Sendable {
    public var host: String
    public var port: Int
    /// PEM certificate chain of the hub.
    public var certificatePath: String
    /// PEM private key of the hub.
    public var keyPath: String
    /// PEM CA certificate(s) whose client certificates are accepted.
    public var caPath: String
    /// The CA's revocation list, if any: a revoked client certificate gets 403 on every request.
    public var revocations: RevocationList?

    public init(host: String = "127.0.0.1", port: Int = 8443, certificatePath: String, keyPath: String, caPath: String, revocations: RevocationList? = nil) {
        self.host = host
        self.port = port
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.caPath = caPath
        self.revocations = revocations
    }
}
