public import Logging
import NIOSSL
import PostgresNIO

extension PostgresAddress {
    /// What the server answers this address's login with, when it refuses it for good (a database that does not exist,
    /// a role or password it does not take), asked over one connection of its own; nil when the login succeeds, and
    /// when the server cannot be reached or refuses only for now (starting, out of connections), which a store waits for.
    ///
    /// The store's pool keeps trying to connect whatever the server answered, so without this a database that was
    /// never created looked like a server that did not answer, after a quarter of a minute.
    public func refusal(caFile: String?, logger: Logger) async throws -> PostgresAddressError? {
        let tls = try Self.tlsSettings(caFile: caFile).map { PostgresConnection.Configuration.TLS.require(try NIOSSLContext(configuration: $0)) } ?? .disable
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: user, password: password, database: database, tls: tls)
        if let schema { configuration.options.additionalStartupParameters = [("search_path", schema)] }
        // A server that drops the packets is the store's wait to tell; this only asks one that answers.
        configuration.options.connectTimeout = .seconds(5)
        do {
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            try? await connection.close()
            return nil
        } catch let error as PSQLError {
            guard let state = error.serverInfo?[.sqlState] else { return nil }
            return refusal(state: state, message: error.serverInfo?[.message] ?? "no message")
        } catch {
            return nil
        }
    }

    /// The refusal `state` means, with what to do about it; nil for one that may pass.
    func refusal(state: String, message: String) -> PostgresAddressError? {
        // Class 08 connection exceptions, 53 insufficient resources, 57 the server shutting down or starting.
        if ["08", "53", "57"].contains(state.prefix(2)) { return nil }
        let server = "PostgreSQL at \(host):\(port)"
        switch state {
        case "3D000":
            return PostgresAddressError("\(server) has no database '\(database)' (\(state): \(message)); create it, e.g. `createdb -O \(user) \(database)`, "
                                        + "or name one that exists in --database")
        case "28P01", "28000":
            return PostgresAddressError("\(server) refused the login of '\(user)' (\(state): \(message)); check the user and password in --database, "
                                        + "and that the server's pg_hba.conf lets this host in")
        default:
            return PostgresAddressError("\(server) refused the connection (\(state): \(message))")
        }
    }
}
