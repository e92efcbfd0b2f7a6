import ArgumentParser
import Foundation
import LiaisonAPI
import LiaisonClient

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch an item's payload and write it to a file or standard output.",
        discussion: """
            Confidential payloads arrive as CMS sealed to your certificate; they are opened here with your \
            private key (--key), so the plaintext exists only on your machine. --raw writes the CMS as received \
            (open it with `openssl cms -decrypt -inform DER -recip CERT -inkey KEY -binary`).
            The bytes are checked against the item's SHA-256 before anything is written; files are mode 0600.
            """)

    @Argument(help: "The item id.", transform: RecordID.validated) var id: String
    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var output: String?
    @Flag(help: "Write a confidential payload as the CMS envelope received (DER), without opening it.") var raw = false
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let settings = try connection.settings()
        let received = try await connection.withConnection { hub in try await ReceivedPayload.fetch(id, from: hub) }
        let sealed = received.sealed
        let sha256 = received.sha256
        let bytes = sealed && raw ? received.bytes : try PayloadOpener(settings: settings).plaintext(of: received)
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
}
