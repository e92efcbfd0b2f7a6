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

    public init(host: String = "127.0.0.1", port: Int = 8443, certificatePath: String, keyPath: String, caPath: String) {
        self.host = host
        self.port = port
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.caPath = caPath
    }
}
