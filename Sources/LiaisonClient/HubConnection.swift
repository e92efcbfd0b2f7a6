import AsyncHTTPClient
import Foundation
public import LiaisonAPI
import NIOCore
import NIOSSL
import OpenAPIAsyncHTTPClient
import OpenAPIRuntime

/// An mTLS connection to the hub with the generated client on top. Call `shutdown()` when done.
public final class HubConnection: Sendable {
    public let settings: ClientSettings
    public let api: Client
    private let http: HTTPClient

    /// `onRetry` is told when a read the hub was too busy for is tried again (`BusyRetry`).
    public init(settings: ClientSettings, onRetry: @escaping @Sendable (_ operation: String, _ seconds: Int) -> Void = { _, _ in }) throws {
        self.settings = settings
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.certificateChain = try Self.certificates(settings.certificatePath, role: "client certificate (LIAISON_CERT / --cert)").map { .certificate($0) }
        tls.privateKey = .privateKey(try Self.privateKey(settings.keyPath))
        tls.trustRoots = .certificates(try Self.certificates(settings.caPath, role: "CA certificate (LIAISON_CA / --ca)"))
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(120))
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        api = Client(serverURL: settings.url, configuration: Wire.configuration,
                     transport: AsyncHTTPClientTransport(configuration: .init(client: http, timeout: .seconds(120))),
                     middlewares: [BusyRetry(onRetry: onRetry)])
    }

    public func shutdown() async throws { try await http.shutdown() }

    static func certificates(_ path: String, role: String) throws -> [NIOSSLCertificate] {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw LiaisonClientError(code: "certificate_file", message: "the \(role) \(path) does not exist or cannot be read",
                                     hint: "Pass the right file, or run ./scripts/dev-certs for development certificates")
        }
        do {
            let certificates = try NIOSSLCertificate.fromPEMFile(path)
            guard !certificates.isEmpty else { throw NIOSSLError.failedToLoadCertificate }
            return certificates
        } catch {
            throw LiaisonClientError(code: "certificate_file", message: "the \(role) \(path) is not a PEM certificate", hint: "It should start with -----BEGIN CERTIFICATE-----")
        }
    }

    static func privateKey(_ path: String) throws -> NIOSSLPrivateKey {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw LiaisonClientError(code: "certificate_file", message: "the private key (LIAISON_KEY / --key) \(path) does not exist or cannot be read",
                                     hint: "Pass the key that belongs to your certificate")
        }
        do {
            return try NIOSSLPrivateKey(file: path, format: .pem)
        } catch {
            throw LiaisonClientError(code: "certificate_file", message: "the private key \(path) is not an unencrypted PEM private key",
                                     hint: "Pass the key that belongs to your certificate (PEM, without a passphrase)")
        }
    }

    /// Turns transport failures into sentences that say which file or setting is wrong, by the error's type
    /// (AsyncHTTPClient's, NIO's, NIOSSL's) and, for a failed handshake, the reason BoringSSL gives.
    public func explain(_ error: any Error) -> LiaisonClientError {
        if let error = error as? LiaisonClientError { return error }
        let underlying = (error as? ClientError)?.underlyingError ?? error
        let url = settings.url.absoluteString
        switch underlying {
        case let error as IOError where error.errnoCode == ECONNREFUSED:
            return LiaisonClientError(code: "connection_refused", message: "nothing is listening at \(url)",
                                      hint: "Start the hub with ./scripts/run, or point LIAISON_URL / --url at a running hub")
        case let error as HTTPClientError where error == .connectTimeout || error == .deadlineExceeded || error == .readTimeout:
            return LiaisonClientError(code: "timeout", message: "the hub at \(url) did not answer in time", hint: "Check that the address is right and the hub is running")
        case NIOSSLError.failedToLoadPrivateKey:
            // BoringSSL refuses a key that does not match the certificate when the connection is set up.
            return LiaisonClientError(code: "tls", message: "the private key \(settings.keyPath) does not belong to the certificate \(settings.certificatePath)",
                                      hint: "Use the key file made together with your certificate")
        case NIOSSLError.handshakeFailed(let failure):
            return handshakeFailure(Self.reasons(failure))
        case let failure as BoringSSLError:
            return handshakeFailure(Self.reasons(failure))
        case NIOSSLError.unableToValidateCertificate, is NIOSSLExtraError:
            return handshakeFailure(["CERTIFICATE_VERIFY_FAILED"])
        default:
            return LiaisonClientError(code: "transport", message: "talking to \(url) failed: \(underlying)", hint: "Check LIAISON_URL and that the hub is running")
        }
    }

    /// A failed handshake, by what BoringSSL said: this side could not verify the hub, or the hub refused this side.
    func handshakeFailure(_ reasons: [String]) -> LiaisonClientError {
        if reasons.contains("CERTIFICATE_VERIFY_FAILED") {
            return LiaisonClientError(code: "tls", message: "the hub's certificate is not trusted by the CA file \(settings.caPath) (or does not name \(settings.url.host ?? "the host"))",
                                      hint: "Use the CA that issued the hub's certificate (certs/dev/ca.pem for a development hub) with LIAISON_CA / --ca")
        }
        if reasons.contains("SSLV3_ALERT_CERTIFICATE_EXPIRED") {
            return LiaisonClientError(code: "tls", message: "the hub refused the client certificate \(settings.certificatePath): it has expired",
                                      hint: "Ask for a new certificate (see certs/README.md)")
        }
        return LiaisonClientError(code: "tls", message: "the TLS handshake with \(settings.url.absoluteString) failed: the hub refused the client certificate \(settings.certificatePath), or the CA \(settings.caPath) is not the hub's",
                                  hint: "Use a certificate issued by the hub's CA (LIAISON_CERT / LIAISON_KEY) and the hub's CA (LIAISON_CA)")
    }

    /// The reason names of BoringSSL's error stack (`CERTIFICATE_VERIFY_FAILED`, `TLSV1_ALERT_UNKNOWN_CA`, ...): NIOSSL
    /// keeps the numeric codes private and prints `error:CODE:LIBRARY:FUNCTION:REASON at FILE`.
    static func reasons(_ failure: BoringSSLError) -> [String] {
        guard case .sslError(let stack) = failure else { return [] }
        return stack.compactMap { entry in
            let fields = entry.description.split(separator: ":")
            return fields.count > 5 ? fields[5].split(separator: " ").first.map(String.init) : nil
        }
    }

    /// The hub's error response as a client error.
    public static func problem(status: Int, _ problem: Components.Responses.Problem) -> LiaisonClientError {
        guard case .json(let body) = problem.body else {
            return LiaisonClientError(code: "http_\(status)", message: "the hub answered \(status)", status: status)
        }
        return LiaisonClientError(code: body.error.code, message: body.error.message, hint: body.error.hint, status: status)
    }
}
