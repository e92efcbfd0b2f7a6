import ArgumentParser
import Foundation
import LiaisonAPI
import LiaisonClient
import LiaisonCrypto

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch an item's payload and write it to a file or standard output.",
        discussion: """
            Confidential payloads arrive as CMS sealed to your certificate; they are opened here with your \
            private key (--key), so the plaintext exists only on your machine. --raw writes the CMS as received \
            (open it with `openssl cms -decrypt -inform DER -recip CERT -inkey KEY -binary`).
            The bytes are checked against the item's SHA-256 before anything is written; files are mode 0600. With -o the \
            payload streams into the file as it arrives, whatever its size (with progress on a terminal); to standard \
            output it is held whole first, up to 64 MiB.
            """)

    @Argument(help: "The item id.", transform: RecordID.validated) var id: String
    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var output: String?
    @Flag(help: "Write a confidential payload as the CMS envelope received (DER), without opening it.") var raw = false
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let settings = try connection.settings()
        if let output { return try await download(to: output, settings: settings) }
        // To standard output the payload is held and checked first, so that nothing unverified is written (up to 64 MiB).
        let received = try await connection.withConnection { hub in try await ReceivedPayload.fetch(id, from: hub) }
        let bytes = received.sealed && raw ? received.bytes : try PayloadOpener(settings: settings).plaintext(of: received)
        FileHandle.standardOutput.write(Data(bytes))
    }

    /// Streams the payload into `output` as it arrives (any size): plain bytes checked against their SHA-256 before the
    /// file is moved into place; a sealed envelope received into a file, then opened into another one with your key.
    func download(to output: String, settings: ClientSettings) async throws {
        let (size, sha256, sealed) = try await connection.withConnection { hub in
            try await PayloadFile(id: id, path: output).fetch(from: hub, raw: raw, opener: { try PayloadOpener(settings: settings) })
        }
        if connection.json {
            return try Output.json(["id": id, "file": output, "sha256": sha256, "size": "\(size)", "form": sealed && raw ? "cms" : "plaintext"])
        }
        if sealed && raw {
            print("Wrote the CMS envelope of \(id) (\(size) bytes, sealed to your certificate) to \(output)")
        } else {
            print("Wrote \(size) bytes of \(id) to \(output) (\(sealed ? "opened with your key, " : "")sha256 verified)")
        }
    }
}
