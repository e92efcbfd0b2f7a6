import ArgumentParser
import Foundation
import LiaisonAPI
import LiaisonClient
import LiaisonCrypto
import OpenAPIRuntime

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch an item's payload and write it to a file or standard output.",
        discussion: """
            Confidential payloads arrive as CMS sealed to your certificate; they are opened here with your \
            private key (--key), so the plaintext exists only on your machine. --raw writes the CMS as received \
            (open it with `openssl cms -decrypt -inform DER -recip CERT -inkey KEY -binary`).
            The bytes are checked against the item's SHA-256 before anything is written; files are mode 0600.
            """)

    @Argument(help: "The item id.") var id: String
    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var output: String?
    @Flag(help: "Write a confidential payload as the CMS envelope received (DER), without opening it.") var raw = false
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let settings = try connection.settings()
        let (received, sealed, sha256) = try await connection.withConnection { hub -> ([UInt8], Bool, String) in
            switch try await hub.api.getItemPayload(path: .init(id: id)) {
            case .ok(let ok):
                let limit = 64 * 1024 * 1024 + 64 * 1024
                switch ok.body {
                case .binary(let body): return (try await [UInt8](collecting: body, upTo: limit), false, ok.headers.liaisonSHA256)
                case .applicationPkcs7Mime(let body): return (try await [UInt8](collecting: body, upTo: limit), true, ok.headers.liaisonSHA256)
                }
            case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
            }
        }
        let bytes = sealed && !raw ? try open(received, settings: settings) : received
        guard (sealed && raw) || Digest.sha256Hex(bytes) == sha256 else {
            throw CLIFailure(LiaisonClientError(code: "integrity", message: "the payload of \(id) does not match its SHA-256; nothing was written",
                                                hint: "Fetch it again; if it persists, report it to the hub's operator"))
        }
        guard let output else {
            FileHandle.standardOutput.write(Data(bytes))
            return
        }
        guard FileManager.default.createFile(atPath: output, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot write \(output)")
        }
        if connection.json {
            return try Output.json(["id": id, "file": output, "sha256": sha256, "size": "\(bytes.count)", "form": sealed && raw ? "cms" : "plaintext"])
        }
        if sealed && raw {
            print("Wrote the CMS envelope of \(id) (\(bytes.count) bytes, sealed to your certificate) to \(output)")
        } else {
            print("Wrote \(bytes.count) bytes of \(id) to \(output) (\(sealed ? "opened with your key, " : "")sha256 verified)")
        }
    }

    /// Opens a CMS envelope the hub sealed to this client's certificate.
    func open(_ envelope: [UInt8], settings: ClientSettings) throws -> [UInt8] {
        do {
            return try CMSEnvelope.open(envelope, key: PrivateKey(pemFile: settings.keyPath), certificate: X509Certificate(file: settings.certificatePath))
        } catch {
            throw CLIFailure(LiaisonClientError(code: "cannot_open", message: "the payload of \(id) arrived sealed to your certificate but could not be opened: \(error)",
                                                hint: "Use the private key that belongs to the certificate you connected with; --raw writes the envelope as received"))
        }
    }
}
