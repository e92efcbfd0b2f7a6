import ArgumentParser
import Foundation
import LiaisonAPI
import LiaisonClient
import LiaisonCrypto
import OpenAPIRuntime

struct Push: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Push a file (or standard input with -) to the hub as an item owned by your agency.",
        discussion: """
            The push carries an Idempotency-Key, so it is retried safely after a timeout without creating a duplicate. \
            With --seal the payload is sealed on this machine as CMS to the hub's certificate (checked against your CA \
            and the hub's host name, or given with --hub-cert), so that a TLS-terminating proxy in front of the hub \
            never sees the plaintext. A file larger than 4 MiB is streamed (any size the hub accepts, see its \
            --max-stream-payload), with progress on a terminal; --seal and standard input send the payload whole, as JSON.
            """)

    @Argument(help: "The payload file, or - for standard input.")
    var file: String

    @Option(help: "An item kind declared in the policy (report, lead, petition, analysis, integrity-file, feedback, rectification).")
    var kind: String

    @Option(help: "What the item is.")
    var title: String

    @Option(help: "The unit the item is about.")
    var unit: String

    @Option(help: "The item's level.")
    var classification: Components.Schemas.Classification

    @Option(help: "The payload's media type (default: guessed from the file name, else application/octet-stream).")
    var contentType: String?

    @Option(name: .customLong("person"), help: "A person the item is about (repeatable).")
    var persons: [String] = []

    @Option(name: .customLong("tag"), help: "A key matter or project (repeatable).")
    var tags: [String] = []

    @Option(help: "For --kind rectification: the id of the feedback item it answers.")
    var answers: String?

    @Flag(help: "Seal the payload to the hub's certificate before sending (hub-blind intake).")
    var seal = false

    @Option(help: "With --seal: the hub's PEM certificate, instead of fetching it from the hub.")
    var hubCert: String?

    @Option(help: "The Idempotency-Key to send (default: a fresh UUID for this push).")
    var idempotencyKey: String?

    @OptionGroup var connection: ConnectionOptions

    /// Files larger than this are streamed (`application/octet-stream`, any size) rather than sent as base64 in JSON.
    static let streamAbove = 4 << 20

    func run() async throws {
        let key = idempotencyKey ?? UUID().uuidString
        let type = contentType ?? Self.guessType(file)
        let (item, replayed): (Components.Schemas.Item, Bool)
        if !seal, file != "-", let size = FileChunks.size(of: file), size > Self.streamAbove {
            // Streamed from the file as it is read: the hub stores it in chunks, this machine never holds it whole.
            let headers = Operations.PushItem.Input.Headers(idempotencyKey: key, liaisonKind: kind, liaisonTitle: title, liaisonUnit: unit,
                                                            liaisonClassification: classification.rawValue, liaisonContentType: type,
                                                            liaisonPersons: persons.isEmpty ? nil : persons, liaisonTags: tags.isEmpty ? nil : tags,
                                                            liaisonAnswers: answers)
            let chunks = FileChunks(path: file, size: size)
            (item, replayed) = try await connection.withConnection { hub in
                try await send(headers, .binary(HTTPBody(chunks, length: .known(Int64(size)), iterationBehavior: .multiple)), to: hub)
            }
        } else {
            let payload: Data
            if file == "-" {
                payload = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
                payload = data
            }
            (item, replayed) = try await connection.withConnection { hub in
                let sent = seal ? Data(try await sealed(payload, hub: hub)) : payload
                let body = Components.Schemas.NewItem(kind: kind, title: title, unit: unit, classification: classification, contentType: type,
                                                      payload: sent.base64EncodedString(), answers: answers, contentEncoding: seal ? .cms : nil,
                                                      persons: persons.isEmpty ? nil : persons, tags: tags.isEmpty ? nil : tags)
                return try await send(.init(idempotencyKey: key), .json(body), to: hub)
            }
        }
        if connection.json { return try Output.json(item) }
        print("\(replayed ? "Already pushed" : "Pushed") \(item.id): \(item.classification) \(item.kind) about \(item.unit), owned by \(item.owner), sha256 \(item.sha256 ?? "")")
    }

    /// Sends the push; transport failures are retried under the same Idempotency-Key, so the hub stores the item at most once.
    func send(_ headers: Operations.PushItem.Input.Headers, _ body: Operations.PushItem.Input.Body, to hub: HubConnection) async throws -> (Components.Schemas.Item, Bool) {
        var attempt = 0
        while true {
            attempt += 1
            do {
                switch try await hub.api.pushItem(headers: headers, body: body) {
                case .created(let created): return (try created.body.json, false)
                case .ok(let ok): return (try ok.body.json, true)
                case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
                }
            } catch let failure as CLIFailure {
                throw failure
            } catch {
                let explained = hub.explain(error)
                guard attempt < 3, explained.code == "timeout" || explained.code == "transport" else { throw CLIFailure(explained) }
                try await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
    }

    /// The payload sealed as CMS to the hub's certificate, after checking that the client's CA issued it for the hub's host.
    func sealed(_ payload: Data, hub: HubConnection) async throws -> [UInt8] {
        let settings = try connection.settings()
        let pem: String
        if let hubCert {
            guard let text = try? String(contentsOfFile: hubCert, encoding: .utf8) else { throw ValidationError("cannot read \(hubCert)") }
            pem = text
        } else {
            switch try await hub.api.getHubCertificate() {
            case .ok(let ok): pem = try await String(collecting: try ok.body.applicationXPemFile, upTo: 1024 * 1024)
            case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
            }
        }
        let certificate = try await settings.trustedHubCertificate(pem: pem, what: "the hub's certificate")
        do {
            return try CMSEnvelope.seal(payload, to: certificate)
        } catch {
            throw CLIFailure(LiaisonClientError(code: "cannot_seal", message: "cannot seal the payload to the hub's certificate: \(error)", hint: "Push without --seal"))
        }
    }

    static func guessType(_ file: String) -> String {
        switch (file as NSString).pathExtension.lowercased() {
        case "txt", "text": return "text/plain"
        case "md": return "text/markdown"
        case "json": return "application/json"
        case "pdf": return "application/pdf"
        case "csv": return "text/csv"
        case "html", "htm": return "text/html"
        case "xml": return "application/xml"
        case "doc": return "application/msword"
        case "docx": return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        case "xlsx": return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        default: return "application/octet-stream"
        }
    }
}
