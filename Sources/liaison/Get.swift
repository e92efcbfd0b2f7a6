import ArgumentParser
import Foundation
import LiaisonAPI
import LiaisonClient
import LiaisonCrypto
import OpenAPIRuntime

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch an item's payload and write it to a file or standard output.",
        discussion: "The bytes are checked against the item's SHA-256 before anything is written.")

    @Argument(help: "The item id.") var id: String
    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var output: String?
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let (bytes, sha256) = try await connection.withConnection { hub -> ([UInt8], String) in
            switch try await hub.api.getItemPayload(path: .init(id: id)) {
            case .ok(let ok):
                return (try await [UInt8](collecting: try ok.body.binary, upTo: 64 * 1024 * 1024), ok.headers.liaisonSHA256)
            case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
            }
        }
        guard Digest.sha256Hex(bytes) == sha256 else {
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
        if connection.json { return try Output.json(["id": id, "file": output, "sha256": sha256, "size": "\(bytes.count)"]) }
        print("Wrote \(bytes.count) bytes of \(id) to \(output) (sha256 verified)")
    }
}
