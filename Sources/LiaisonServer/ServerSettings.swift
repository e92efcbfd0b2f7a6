public import LiaisonCrypto

/// Where the hub listens, which certificates it uses, and how much it lets connections and bodies hold.
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
    /// The folder holding the database, for the free-space check of pushes; nil checks nothing.
    public var dataDirectory: String?
    /// Free space kept for the trail: a push that would leave less gets 503 storage_full (0: no check; the store's own
    /// failure on a full disk is then the only answer, also a 503).
    public var reserveBytes = 64 * 1024 * 1024
    /// Bytes of request bodies held at once across all requests; past it, 503 busy (at least one largest body).
    public var bodyBudgetBytes = 96 * 1024 * 1024
    public var connections = ConnectionLimits()
    /// Metadata and payload reads, listings and JSON pushes answered by `FastLane` in front of Hummingbird; false routes every request (to compare the two).
    public var fastLane = true

    public init(host: String = "127.0.0.1", port: Int = 8443, certificatePath: String, keyPath: String, caPath: String, revocations: RevocationList? = nil) {
        self.host = host
        self.port = port
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.caPath = caPath
        self.revocations = revocations
    }
}
