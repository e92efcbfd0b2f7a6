/// How long a connection may take at each stage and how many may be open at once, so that idle or
/// half-open sockets cannot exhaust the hub (issue 13: 500 silent TCP connections stayed open for 300 s).
public struct ConnectionLimits: Sendable {
    /// From accept to a finished TLS handshake.
    public var handshakeTimeout: Duration = .seconds(10)
    /// From a request's first byte to the end of its headers.
    public var headerTimeout: Duration = .seconds(10)
    /// A keep-alive connection with no request in progress for this long is closed; so is one whose answer has waited
    /// this long for a client that reads none of it.
    public var idleTimeout: Duration = .seconds(60)
    /// Connections open at once; one more is closed as soon as it is accepted, leaving the others alone.
    public var maximumConnections = 1_000

    public init() {}
}
