import ArgumentParser
import Foundation
import LiaisonClient
import LiaisonCrypto

/// How to reach the hub and as whom; shared by every online command.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "The hub's URL (env LIAISON_URL; default https://127.0.0.1:8443).")
    var url: String?

    @Option(help: "Your PEM client certificate (env LIAISON_CERT).")
    var cert: String?

    @Option(help: "Your PEM private key (env LIAISON_KEY).")
    var key: String?

    @Option(help: "The hub's CA certificate (env LIAISON_CA).")
    var ca: String?

    @Option(name: .customLong("as"), help: "Use the development certificate of this principal from certs/dev.")
    var principal: String?

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func settings() throws -> ClientSettings {
        let environment = ProcessInfo.processInfo.environment
        let devFolder = environment["LIAISON_DEV_CERTS"] ?? "certs/dev"
        let urlText = url ?? environment["LIAISON_URL"] ?? "https://127.0.0.1:8443"
        guard let parsed = URL(string: urlText), parsed.scheme == "https", parsed.host != nil else {
            throw ValidationError("'\(urlText)' is not an https:// URL; the hub speaks HTTPS with client certificates only")
        }
        let certificate = cert ?? principal.map { "\(devFolder)/\($0).pem" } ?? environment["LIAISON_CERT"]
        let privateKey = key ?? principal.map { "\(devFolder)/\($0).key" } ?? environment["LIAISON_KEY"]
        let authority = ca ?? environment["LIAISON_CA"] ?? (principal != nil || FileManager.default.fileExists(atPath: "\(devFolder)/ca.pem") ? "\(devFolder)/ca.pem" : nil)
        guard let certificate, let privateKey else {
            throw ValidationError("no client certificate: pass --cert and --key, set LIAISON_CERT and LIAISON_KEY, or use --as PRINCIPAL with development certificates")
        }
        guard let authority else { throw ValidationError("no CA certificate: pass --ca or set LIAISON_CA to the hub's CA") }
        return ClientSettings(url: parsed, certificatePath: certificate, keyPath: privateKey, caPath: authority)
    }

    /// Runs `body` with a connection, closing it after and turning every failure into a readable error.
    func withConnection<T>(_ body: (HubConnection) async throws -> T) async throws -> T {
        let connection: HubConnection
        do {
            connection = try HubConnection(settings: try settings()) { operation, seconds in
                Output.error("the hub is busy (\(operation)); trying again in \(seconds) s")
            }
        } catch let error as LiaisonClientError {
            throw CLIFailure(error)
        }
        do {
            let result = try await body(connection)
            try? await connection.shutdown()
            return result
        } catch {
            try? await connection.shutdown()
            if let failure = error as? CLIFailure { throw failure }
            throw CLIFailure(connection.explain(error))
        }
    }
}

extension ClientSettings {
    /// `pem` as the hub's certificate if the client's CA issued it for the host the client connects to and it
    /// is valid now (`HubCertificateTrust`); otherwise a failure that says what `what` is and why it is refused.
    /// Whatever the hub signs, or what is sealed to it, is only as good as this check.
    func trustedHubCertificate(pem: String, what: String) async throws -> X509Certificate {
        let host = url.host ?? ""
        switch await HubCertificateTrust.check(pem: pem, caPEMFile: caPath, host: host) {
        case .trusted:
            return try X509Certificate(pem: pem)
        case .refused(let reason):
            throw CLIFailure(LiaisonClientError(code: "untrusted_hub_certificate", message: "\(what) is not one your CA (\(caPath)) issued for \(host) and valid now: \(reason)",
                                                hint: "Check --url and --ca, and the hub certificate's dates; nothing was sent"))
        }
    }
}

/// A failure to show the user: printed as `liaison: message` plus a hint, exit status 1.
struct CLIFailure: Error, CustomStringConvertible {
    let error: LiaisonClientError
    init(_ error: LiaisonClientError) { self.error = error }
    var description: String { error.description }
}
