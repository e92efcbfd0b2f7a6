import ArgumentParser
import Foundation
import LiaisonAPI
import LiaisonClient
import LiaisonCore
import LiaisonCrypto
import OpenAPIRuntime

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Read and verify the hub's audit trail (auditors).",
        subcommands: [Verify.self, Items.self, Export.self, Tail.self])

    /// Pages through the trail from `after`, handing each page to `body`; stops at `until` (inclusive) if given.
    static func pages(_ hub: HubConnection, after start: Int64 = 0, until: Int64? = nil, filter: Query = Query(),
                      _ body: ([AuditEntry]) throws -> Void) async throws {
        var after = start
        while true {
            let page: Components.Schemas.AuditPage
            switch try await hub.api.listAudit(query: .init(after: after, limit: 1000, actor: filter.actor, item: filter.item, unit: filter.unit, action: filter.action)) {
            case .ok(let ok): page = try ok.body.json
            case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
            }
            let entries = page.entries.map(entry).filter { until == nil || $0.seq <= until! }
            try body(entries)
            guard let next = page.nextAfter, until == nil || next < until! else { return }
            after = next
        }
    }

    /// How many entries one answer of the compact trail holds (the most the hub gives, about 30 MB, read as it
    /// arrives).
    static let chainPageSize = 100_000

    /// Asks, in a task of its own, for the entries after `after` up to `through` (at most `size`) in the trail's
    /// compact form; the task ends with the answer's head, its body still to be read.
    static func chainPage(_ hub: HubConnection, after: Int64, through: Int64, size: Int) -> Task<HTTPBody, any Error> {
        Task {
            switch try await hub.api.getAuditChain(query: .init(after: after, limit: Int(min(Int64(size), through - after)))) {
            case .ok(let ok): return try ok.body.plainText
            case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
            }
        }
    }

    static func entry(_ wire: Components.Schemas.AuditEntry) -> AuditEntry {
        AuditEntry(seq: wire.seq, record: AuditRecord(time: Date(millisecondsSince1970: wire.timeMs), actor: wire.actor, action: wire.action,
                                                      targets: wire.targets, unit: wire.unit, outcome: wire.outcome, detail: wire.detail.additionalProperties),
                   previousHash: wire.prevHash, hash: wire.hash)
    }

    static func head(_ hub: HubConnection) async throws -> Components.Schemas.AuditHead {
        switch try await hub.api.getAuditHead() {
        case .ok(let ok): return try ok.body.json
        case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
        }
    }

    /// The filters the hub applies (a plain value: an unparsed option group cannot be read).
    struct Query {
        var actor: String?
        var item: String?
        var unit: String?
        var action: String?
    }

    struct Filter: ParsableArguments {
        @Option(help: "Only entries by this actor.") var actor: String?
        @Option(help: "Only entries about this item.") var item: String?
        @Option(help: "Only entries about this unit.") var unit: String?
        @Option(help: "Only entries of this action (an operationId such as pushItem).") var action: String?

        var query: Query { Query(actor: actor, item: item, unit: unit, action: action) }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download the whole trail and check it here, trusting nothing the hub computed.",
            discussion: """
                Checks every entry's hash and link, that the chain passes through every head the hubs signed (each \
                signature checked with the certificate of the hub that signed it, which must be issued by your CA for \
                the hub's host and valid now: several hubs of one database each sign with their own), and \
                that nothing was cut from the end. Exits 0 if intact, 1 naming the first bad entry otherwise. \
                With --remember FILE, the head verified is kept in FILE and every later run requires the trail to \
                still pass through it, so even someone who could rewrite the database and its signed heads is caught.
                """)

        @Option(help: .hidden) var pageSize = AuditCommand.chainPageSize
        @Option(help: "Keep the verified head in this file, and require it on later runs.")
        var remember: String?

        @OptionGroup var connection: ConnectionOptions

        /// Heads verified before, by hub URL.
        struct Remembered: Codable {
            var heads: [String: Head] = [:]
            struct Head: Codable {
                var seq: Int64
                var hash: String
            }
        }

        func loadRemembered() throws -> Remembered {
            guard let remember, FileManager.default.fileExists(atPath: remember) else { return Remembered() }
            guard let data = FileManager.default.contents(atPath: remember), let remembered = try? JSONDecoder().decode(Remembered.self, from: data) else {
                throw ValidationError("\(remember) is not a file that `liaison audit verify --remember` wrote")
            }
            return remembered
        }

        struct Outcome {
            var entries = 0
            var head: Int64 = 0
            var headHash = ""
            var signedHeads = 0
            var latestSigned: Int64 = 0
            var problem: String?
        }

        func validate() throws {
            // The hub answers at most 100,000 entries per page of the compact trail.
            guard (1...100_000).contains(pageSize) else { throw ValidationError("--page-size must be between 1 and 100000") }
        }

        func run() async throws {
            let progress = Progress(label: "verifying", unit: "entries")
            let settings = try connection.settings()
            var remembered = try loadRemembered()
            let earlier = remembered.heads[settings.url.absoluteString]
            let outcome: Outcome = try await connection.withConnection { hub in
                var outcome = Outcome()
                let head = try await AuditCommand.head(hub)
                var checkpoints: [Int64: String] = [head.seq: head.hash]
                if let earlier {
                    if let other = checkpoints[earlier.seq], other != earlier.hash {
                        outcome.problem = "entry \(earlier.seq) is not the one verified on an earlier run (\(remember ?? ""))"
                        return outcome
                    }
                    checkpoints[earlier.seq] = earlier.hash
                }
                if let problem = try await signedCheckpoints(hub, head: head, settings: settings, into: &checkpoints, outcome: &outcome) {
                    outcome.problem = problem
                    return outcome
                }
                var verifier = AuditVerifier(checkpoints: checkpoints, sha256: SHA256Digester().digest)
                let end = checkpoints.keys.max() ?? 0
                do {
                    // The compact form, checked as it arrives; the next page is asked for while one is read, so
                    // that the hub is already reading it.
                    var requested: Int64 = 0
                    var pending: [Task<HTTPBody, any Error>] = []
                    defer { pending.forEach { $0.cancel() } }
                    func ask() {
                        guard requested < end else { return }
                        pending.append(AuditCommand.chainPage(hub, after: requested, through: end, size: pageSize))
                        requested += Int64(pageSize)
                    }
                    ask()
                    while !pending.isEmpty {
                        let body = try await pending.removeFirst().value
                        ask()
                        let before = verifier.checked
                        for try await bytes in body {
                            try verifier.read(compact: bytes)
                            progress.show(Int(verifier.lastSeq), of: Int(end))
                        }
                        try verifier.endOfAnswer()
                        guard verifier.checked > before else { break }
                    }
                    try verifier.finish()
                } catch let failure as AuditVerifier.Failure {
                    outcome.problem = failure.description
                }
                outcome.entries = verifier.checked
                outcome.head = head.seq
                outcome.headHash = head.hash
                return outcome
            }
            progress.done()
            if outcome.problem == nil, let remember {
                remembered.heads[settings.url.absoluteString] = Remembered.Head(seq: outcome.head, hash: outcome.headHash)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                guard FileManager.default.createFile(atPath: remember, contents: try encoder.encode(remembered)) else {
                    throw ValidationError("cannot write \(remember)")
                }
            }
            if let problem = outcome.problem {
                if connection.json { try Output.json(["status": "broken", "problem": problem]) } else { Output.error("the audit trail is NOT intact: \(problem)") }
                throw ExitCode(1)
            }
            if connection.json {
                return try Output.json(["status": "intact", "entries": String(outcome.entries), "head": String(outcome.head),
                                        "signed_heads": String(outcome.signedHeads), "latest_signed": String(outcome.latestSigned)])
            }
            let unsigned = outcome.head - outcome.latestSigned
            print("The audit trail is intact: \(outcome.entries) entries verified, up to the published head \(outcome.head)."
                + (outcome.signedHeads > 0 ? " \(outcome.signedHeads) signed heads checked; the latest covers entry \(outcome.latestSigned)"
                    + (unsigned > 0 ? " (\(unsigned) later entries are not signed yet)." : ".") : " The hub has signed no head yet."))
        }

        /// Checks every signed head's signature with the certificate that made it, one the client's CA issued for
        /// the hub's name (each hub of a database signs with its own), and adds it as a checkpoint; returns a problem if any.
        func signedCheckpoints(_ hub: HubConnection, head: Components.Schemas.AuditHead, settings: ClientSettings,
                               into checkpoints: inout [Int64: String], outcome: inout Outcome) async throws -> String? {
            /// Each signer's certificate once trusted, by fingerprint; "" for the answering hub's, which checks heads
            /// that name no signer (signed before hubs named theirs).
            var trusted: [String: X509Certificate] = [:]
            func trust(_ pem: String?, as fingerprint: String, what: String) async throws -> String? {
                guard let pem else { return "the hub signs heads but does not show its certificate" }
                do {
                    let certificate = try await settings.trustedHubCertificate(pem: pem, what: what)
                    guard fingerprint.isEmpty || certificate.fingerprint == fingerprint else {
                        return "the hub shows a certificate under the fingerprint of another (\(fingerprint))"
                    }
                    trusted[fingerprint] = certificate
                    return nil
                } catch let failure as CLIFailure {
                    return failure.error.message
                }
            }
            var after: Int64 = 0
            while true {
                let page: Components.Schemas.SignedHeadPage
                switch try await hub.api.listAuditHeads(query: .init(after: after, limit: 1000)) {
                case .ok(let ok): page = try ok.body.json
                case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
                }
                for signer in page.signers ?? [] where trusted[signer.fingerprint] == nil {
                    let what = "the certificate that signed heads (SHA-256 \(signer.fingerprint.prefix(16))…)"
                    if let problem = try await trust(signer.certificate, as: signer.fingerprint, what: what) { return problem }
                }
                for signed in page.heads {
                    let signer = signed.signer ?? ""
                    if signer.isEmpty, trusted[""] == nil,
                       let problem = try await trust(head.certificate, as: "", what: "the certificate the hub signs heads with") { return problem }
                    guard let certificate = trusted[signer] else { return "the head at entry \(signed.seq) names a signer whose certificate the hub does not show" }
                    guard let signature = Data(base64Encoded: signed.signature),
                          certificate.verify(signature: Array(signature), of: SignedHead.message(seq: signed.seq, hash: signed.hash, timeMs: signed.timeMs)) else {
                        return "the signature of the head at entry \(signed.seq) is not the hub's"
                    }
                    if let other = checkpoints[signed.seq], other != signed.hash { return "entry \(signed.seq) is not the one the hub signed for that position" }
                    checkpoints[signed.seq] = signed.hash
                    outcome.signedHeads += 1
                    outcome.latestSigned = max(outcome.latestSigned, signed.seq)
                }
                guard let next = page.nextAfter else { return nil }
                after = next
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the trail (or the entries matching the filters) as JSON lines.")

        @Option(help: "Output format; jsonl is the only one.") var format: String = "jsonl"
        @Option(help: "Start after this sequence number.") var after: Int64 = 0
        @OptionGroup var filter: Filter
        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            guard format == "jsonl" else { throw ValidationError("--format must be jsonl") }
        }

        func run() async throws {
            let progress = Progress(label: "exporting", unit: "entries", printsToStandardOutput: true)
            try await connection.withConnection { hub in
                // Progress by position in the trail, which filtered exports move through too.
                let end = try await AuditCommand.head(hub).seq
                try await AuditCommand.pages(hub, after: after, filter: filter.query) { entries in
                    for entry in entries { print(AuditCommand.line(entry)) }
                    if let last = entries.last { progress.show(Int(last.seq - after), of: Int(max(1, end - after))) }
                }
            }
            progress.done()
        }
    }

    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the latest entries; with -f, keep following new ones.")

        @Option(name: .shortAndLong, help: "How many of the latest entries to show first.") var lines: Int64 = 20
        @Flag(name: .shortAndLong, help: "Keep following the trail (Ctrl-C to stop).") var follow = false
        @OptionGroup var filter: Filter
        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            guard (0...1_000_000).contains(lines) else { throw ValidationError("--lines must be between 0 and 1000000") }
        }

        func run() async throws {
            try await connection.withConnection { hub in
                var after = max(0, try await AuditCommand.head(hub).seq - lines)
                repeat {
                    try await AuditCommand.pages(hub, after: after, filter: filter.query) { entries in
                        for entry in entries { print(connection.json ? AuditCommand.line(entry) : AuditCommand.text(entry)) }
                        after = entries.last?.seq ?? after
                    }
                    if follow { try await Task.sleep(for: .seconds(1)) }
                } while follow
            }
        }
    }

    static func text(_ entry: AuditEntry) -> String {
        let record = entry.record
        let detail = record.detail.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return "\(entry.seq)  \(Show.time(record.time))  \(record.actor)  \(record.action)  \(record.outcome)  \(record.targets.joined(separator: ","))  \(record.unit ?? "")  \(detail)"
    }

    static func line(_ entry: AuditEntry) -> String {
        let record = entry.record
        var object: [String: Any] = ["seq": entry.seq, "time_ms": record.time.millisecondsSince1970,
                                     "actor": record.actor, "action": record.action, "targets": record.targets, "outcome": record.outcome,
                                     "detail": record.detail, "prev_hash": entry.previousHash, "hash": entry.hash]
        if let unit = record.unit { object["unit"] = unit }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
