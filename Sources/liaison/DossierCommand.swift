import ArgumentParser
import Foundation
import LiaisonAPI
import LiaisonClient
import LiaisonCore
import LiaisonCrypto

/// Pre-inspection dossiers for inspection teams.
struct DossierCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dossier",
        abstract: "Build a unit's pre-inspection dossier and pull it into a folder (inspection teams).",
        subcommands: [Create.self, Pull.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build the dossier of a unit your team is assigned to; withheld items go into one access request.",
            discussion: "Allowed while your window on the unit is open, or within the policy's lead time (example: 30 days) before it opens.")
        @Option(help: "The unit to inspect.") var unit: String
        @Option(help: "What the inspection is (required).") var reason: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let dossier = try await connection.withConnection { hub -> Components.Schemas.Dossier in
                switch try await hub.api.createDossier(body: .json(.init(unit: unit, reason: reason))) {
                case .created(let created): return try created.body.json
                case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
                }
            }
            if connection.json { return try Output.json(dossier) }
            let request = dossier.requestId.map { "; access to the \(dossier.withheld) withheld was requested as \($0)" } ?? ""
            print("Dossier \(dossier.id) of \(dossier.unit): \(dossier.readable) readable item(s), \(dossier.withheld) withheld\(request). Pull it with `liaison dossier pull \(dossier.id) --out DIR`.")
        }
    }

    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the dossier to a folder: manifest.json, summary.md and one file per readable item.",
            discussion: """
                Payloads up to 1 MiB come in one archive, larger ones one by one; confidential ones are opened locally \
                with your key; every file is mode 0600, flushed to disk before it takes its name. Run it again later: \
                it fetches only what became readable since (as approvals arrive) and says what is still withheld.
                """)
        @Argument(help: "The dossier id.", transform: RecordID.validated) var id: String
        @Option(help: "The folder to write to (created if missing).") var out: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let settings = try connection.settings()
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let names = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
            // Files a pull that was interrupted left half-received, hidden beside their names.
            for name in names where name.hasPrefix(".") && name.contains(".partial-") { try? FileManager.default.removeItem(atPath: "\(out)/\(name)") }
            let existing = Set(names.filter { !$0.hasPrefix(".") && $0.count > 17 }.map { String($0.prefix(16)) })
            let (dossier, fetched) = try await connection.withConnection { hub -> (Components.Schemas.Dossier, [String]) in
                let dossier: Components.Schemas.Dossier
                switch try await hub.api.getDossier(path: .init(id: id)) {
                case .ok(let ok): dossier = try ok.body.json
                case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
                }
                // Written while the payloads arrive: encoding the manifest of 10,000 items takes 0.1-0.3 s.
                let manifest = Task { try Self.writeManifest(dossier, to: out) }
                do {
                    let fetched = try await pullPayloads(of: dossier, from: hub, settings: settings, skipping: existing)
                    try await manifest.value
                    return (dossier, fetched)
                } catch {
                    _ = await manifest.result
                    throw error
                }
            }
            if connection.json { return try Output.json(["dossier": dossier.id, "fetched": fetched.joined(separator: ","), "withheld": String(dossier.withheld)]) }
            let withheld = (dossier.items ?? []).filter { $0.access == .withheld }.map(\.id)
            let named = withheld.prefix(10).joined(separator: ", ") + (withheld.count > 10 ? " and \(withheld.count - 10) more" : "")
            print("Fetched \(fetched.count) new item(s) into \(out); \(withheld.isEmpty ? "nothing is withheld" : "\(withheld.count) still withheld: \(named)").")
        }

        /// Fetches the payloads of the dossier's items readable now that are not in the folder yet; their ids.
        func pullPayloads(of dossier: Components.Schemas.Dossier, from hub: HubConnection, settings: ClientSettings, skipping existing: Set<String>) async throws -> [String] {
            // The hub lists a dossier's items when it is read (its answer to building one leaves them out).
            let wanted = (dossier.items ?? []).filter { $0.access == .read && $0.integrityError != true && !existing.contains($0.id) }
            let opener = try PayloadOpener(settings: settings)
            let progress = Progress(label: "pulling", unit: "items")
            let path = { (item: Components.Schemas.Item) in "\(out)/\(item.id)-\(Self.slug(item.title ?? ""))\(PayloadFileName.fileExtension(item.contentType))" }
            var done: Set<String> = []
            // Small payloads in one archive; larger ones (and any the archive left out) one by one.
            let small = wanted.filter { ($0.size ?? .max) <= Int64(DossierBundle.payloadLimit) }
            if !small.isEmpty {
                let bundle = DossierBundle(dossier: dossier.id, folder: out, items: small.map { ($0, path($0)) })
                done = try await bundle.pull(from: hub, opener: opener) { written in progress.show(written, of: wanted.count) }
            }
            // Several at once: each is a round trip, a durable trail entry on the hub and a flush to disk here, which overlap.
            try await withThrowingTaskGroup(of: String.self) { group in
                var next = wanted.filter { !done.contains($0.id) }.makeIterator()
                func fetch(_ item: Components.Schemas.Item) -> @Sendable () async throws -> String {
                    // Streamed into its file (any size), checked before it takes its name.
                    let file = PayloadFile(id: item.id, path: path(item))
                    return {
                        _ = try await file.fetch(from: hub, opener: { opener }, label: nil)
                        return file.id
                    }
                }
                for _ in 0..<Self.inFlight { if let item = next.next() { group.addTask(operation: fetch(item)) } }
                while let id = try await group.next() {
                    done.insert(id)
                    progress.show(done.count, of: wanted.count)
                    if let item = next.next() { group.addTask(operation: fetch(item)) }
                }
            }
            progress.done()
            return wanted.map(\.id).filter(done.contains)
        }

        /// manifest.json (the dossier as the hub answered it, for people and scripts) and summary.md.
        static func writeManifest(_ dossier: Components.Schemas.Dossier, to out: String) throws {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .iso8601
            try write(try encoder.encode(dossier), to: "\(out)/manifest.json")
            try write(Data(summary(dossier).utf8), to: "\(out)/summary.md")
        }

        /// Payloads fetched alone at once: twice the HTTP client's eight connections, so that each has its next request
        /// waiting when one ends (3,500 small items one by one: 6 s one at a time, 1.8 s so).
        static let inFlight = 16

        static func write(_ data: Data, to path: String) throws {
            guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else { throw ValidationError("cannot write \(path)") }
        }

        /// A file-name-safe rendering of a title: letters (any script) and digits kept, the rest folded to '-'.
        static func slug(_ title: String) -> String {
            let kept = title.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) ? String($0) : "-" }.joined()
            let collapsed = kept.split(separator: "-").joined(separator: "-")
            return String((collapsed.isEmpty ? "item" : collapsed).prefix(60))
        }

        /// The summary as a short Markdown report.
        static func summary(_ dossier: Components.Schemas.Dossier) -> String {
            let summary = dossier.summary
            var text = "# Dossier \(dossier.id): \(dossier.unit)\n\n\(dossier.reason)\n\n"
            text += "\(dossier.readable) readable item(s), \(dossier.withheld) withheld"
            if let request = dossier.requestId { text += " (access request \(request): \(dossier.requestStatus ?? "pending"))" }
            text += ".\n\n## Items by kind\n\n| kind | items |\n| --- | --- |\n"
            text += summary.byKind.additionalProperties.sorted { $0.key < $1.key }.map { "| \($0.key) | \($0.value) |\n" }.joined()
            text += "\n## Items by level\n\n| level | items |\n| --- | --- |\n"
            text += summary.byLevel.additionalProperties.sorted { $0.key < $1.key }.map { "| \($0.key) | \($0.value) |\n" }.joined()
            text += "\n## Persons who recur\n\n| name | items | named by | withheld items naming them |\n| --- | --- | --- | --- |\n"
            text += summary.persons.map { "| \($0.name) | \($0.items.joined(separator: ", ")) | \(($0.agencies ?? []).joined(separator: ", ")) | \($0.withheld ?? 0) |\n" }.joined()
            text += "\n## Tags that recur\n\n| name | items |\n| --- | --- |\n"
            text += summary.tags.map { "| \($0.name) | \($0.items.joined(separator: ", ")) |\n" }.joined()
            text += "\n## Open leads\n\n| lead | status | age (days) |\n| --- | --- | --- |\n"
            text += summary.openLeads.map { "| \($0.id) | \($0.status) | \($0.ageDays) |\n" }.joined()
            text += "\n## Feedback and rectification\n\n| feedback | title | rectification reported |\n| --- | --- | --- |\n"
            text += summary.feedback.map { feedback in
                "| \(feedback.id) | \(feedback.title) | \(feedback.rectifiedAt.map { "yes, \(Show.time($0)) (\(feedback.rectification ?? ""))" } ?? "no") |\n"
            }.joined()
            return text
        }
    }
}

/// Feedback items of a unit and whether rectification was reported.
struct RectificationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rectification", abstract: "Per feedback item of a unit: whether and when rectification was reported.")
    @Option(help: "The unit.") var unit: String
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let list = try await connection.withConnection { hub -> Components.Schemas.RectificationList in
            switch try await hub.api.listRectification(query: .init(unit: unit)) {
            case .ok(let ok): return try ok.body.json
            case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
            }
        }
        if connection.json { return try Output.json(list) }
        guard !list.feedback.isEmpty else { return print("No feedback items about \(unit) are readable to you.") }
        Output.table(["FEEDBACK", "TITLE", "RECTIFIED", "WHEN", "BY ITEM"], list.feedback.map {
            [$0.id, $0.title, $0.rectified ? "yes" : "no", $0.rectifiedAt.map(Show.time) ?? "", $0.rectification ?? ""]
        })
    }
}
