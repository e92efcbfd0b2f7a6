import ArgumentParser
import Foundation
import LiaisonAPI
import LiaisonClient
import LiaisonCore
import LiaisonCrypto

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Read and verify the hub's audit trail (auditors).",
        subcommands: [Verify.self, Export.self, Tail.self])

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

    static func entry(_ wire: Components.Schemas.AuditEntry) -> AuditEntry {
        AuditEntry(seq: wire.seq, record: AuditRecord(time: Date(timeIntervalSince1970: Double(wire.timeMs) / 1000), actor: wire.actor, action: wire.action,
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
            abstract: "Download the whole trail and check its hash chain here, trusting nothing the hub computed.",
            discussion: "Exits 0 if every entry up to the published head is intact, 1 naming the first bad entry otherwise.")

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let progress = Progress(label: "verifying")
            let result: Result<(Int, Int64), AuditVerifier.Failure> = try await connection.withConnection { hub in
                let head = try await AuditCommand.head(hub)
                var verifier = AuditVerifier(head: (head.seq, head.hash), sha256Hex: { Digest.sha256Hex($0) })
                do {
                    try await AuditCommand.pages(hub, until: head.seq) { entries in
                        do { try verifier.check(entries) } catch let failure { throw failure }
                        progress.show(Int(verifier.lastSeq), of: Int(head.seq))
                    }
                    try verifier.finish()
                    return .success((verifier.checked, head.seq))
                } catch let failure as AuditVerifier.Failure {
                    return .failure(failure)
                }
            }
            progress.done()
            switch result {
            case .success(let (count, head)):
                if connection.json { return try Output.json(["status": "intact", "entries": String(count), "head": String(head)]) }
                print("The audit trail is intact: \(count) entries verified, up to the published head \(head).")
            case .failure(let failure):
                if connection.json { try Output.json(["status": "broken", "problem": failure.description]) } else {
                    Output.error("the audit trail is NOT intact: \(failure)")
                }
                throw ExitCode(1)
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
            try await connection.withConnection { hub in
                try await AuditCommand.pages(hub, after: after, filter: filter.query) { entries in
                    for entry in entries { print(AuditCommand.line(entry)) }
                }
            }
        }
    }

    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the latest entries; with -f, keep following new ones.")

        @Option(name: .shortAndLong, help: "How many of the latest entries to show first.") var lines: Int64 = 20
        @Flag(name: .shortAndLong, help: "Keep following the trail (Ctrl-C to stop).") var follow = false
        @OptionGroup var filter: Filter
        @OptionGroup var connection: ConnectionOptions

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
        var object: [String: Any] = ["seq": entry.seq, "time_ms": Int64((record.time.timeIntervalSince1970 * 1000).rounded(.down)),
                                     "actor": record.actor, "action": record.action, "targets": record.targets, "outcome": record.outcome,
                                     "detail": record.detail, "prev_hash": entry.previousHash, "hash": entry.hash]
        if let unit = record.unit { object["unit"] = unit }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
