import Foundation
public import PostgresNIO
import NIOSSL

/// A `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME]` URL, as `liaisond serve --database` takes it.
/// `schema` keeps the hub's tables in a schema of their own (the database's default search path otherwise).
public struct PostgresAddress: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: Int
    public let user: String
    public let password: String?
    public let database: String
    public let schema: String?

    public init(_ text: String) throws {
        guard let url = URLComponents(string: text), url.scheme == "postgres" || url.scheme == "postgresql" else {
            throw PostgresAddressError("'\(Self.redacted(text))' is not a postgres:// URL, e.g. postgres://liaison@127.0.0.1:5432/liaison")
        }
        guard let host = url.host, !host.isEmpty else { throw PostgresAddressError("the URL names no host, e.g. postgres://liaison@127.0.0.1:5432/liaison") }
        guard let user = url.user, !user.isEmpty else { throw PostgresAddressError("the URL names no user, e.g. postgres://liaison@\(host)/liaison") }
        let database = String(url.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else { throw PostgresAddressError("the URL names no database, e.g. postgres://\(user)@\(host)/liaison") }
        let port = url.port ?? 5432
        guard (1...65535).contains(port) else { throw PostgresAddressError("port \(port) is out of range") }
        self.host = host
        self.port = port
        self.user = user
        self.password = url.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database
        let schema = url.queryItems?.first { $0.name == "schema" }?.value
        if let schema, schema.isEmpty || !schema.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) {
            throw PostgresAddressError("schema '\(schema)' must be letters, digits and _")
        }
        self.schema = schema
    }

    /// The URL without its password, for logs and messages.
    public var description: String { "postgres://\(user)@\(host):\(port)/\(database)" + (schema.map { "?schema=\($0)" } ?? "") }

    static func redacted(_ text: String) -> String {
        text.replacing(/:[^:@\/]*@/, with: ":***@")
    }

    /// The client configuration: TLS with `caFile` as the only trusted root when given (the server's name checked),
    /// plain TCP otherwise (for loopback or a private network); at most `connections` connections open at once
    /// (PostgreSQL's `max_connections` bounds the sum over every hub and client of the database).
    public func configuration(caFile: String?, connections: Int = 20) throws -> PostgresClient.Configuration {
        let tls = try Self.tlsSettings(caFile: caFile).map { PostgresClient.Configuration.TLS.require($0) } ?? .disable
        var configuration = PostgresClient.Configuration(host: host, port: port, username: user, password: password, database: database, tls: tls)
        if let schema { configuration.options.additionalStartupParameters = [("search_path", schema)] }
        configuration.options.maximumConnections = connections
        return configuration
    }

    /// TLS trusting `caFile` alone, the server's name checked; nil for plain TCP.
    static func tlsSettings(caFile: String?) throws -> TLSConfiguration? {
        guard let caFile else { return nil }
        var settings = TLSConfiguration.makeClientConfiguration()
        settings.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
        return settings
    }
}

public struct PostgresAddressError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
