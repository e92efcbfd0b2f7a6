import ArgumentParser
import Foundation
import LiaisonAPI
import LiaisonClient
import LiaisonCore
import LiaisonProcess

/// Follows the caller's feed, at least once per event, resuming from a state file.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Follow your feed: one line per event, resuming where it stopped.",
        discussion: """
            The cursor of the last event handled is kept in --state, so a restart of either side misses nothing \
            (an event may be handled twice after a crash: at least once, never zero). With --exec, each event is \
            given as JSON on the standard input of `sh -c CMD`; a failing command is retried with backoff and the \
            cursor does not move until it succeeds. A 410 means the cursor is older than what the hub keeps: \
            resynchronise, then start again with --reset.
            """)

    @Option(help: "File that keeps the cursor (default: ~/.liaison/watch-<certificate name>.cursor).") var state: String?
    @Option(help: "Run this shell command per event, the event as JSON on its standard input.") var exec: String?
    @Option(help: "Seconds each request waits for new events (1-60).") var wait: Int = 30
    @Option(help: "Longest pause between retries of a failing --exec or an unreachable hub, in seconds.") var maxBackoff: Int = 60
    @Flag(help: "Forget the stored cursor and start from the oldest event the hub keeps.") var reset = false
    @Flag(help: "Exit once every waiting event is handled (for cron jobs and scripts).") var exitWhenIdle = false
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard (1...60).contains(wait) else { throw ValidationError("--wait must be between 1 and 60 seconds") }
        guard (1...86_400).contains(maxBackoff) else { throw ValidationError("--max-backoff must be between 1 and 86400 seconds") }
    }

    func run() async throws {
        let settings = try connection.settings()
        let stateFile = state ?? Self.defaultState(for: settings.certificatePath)
        var cursor = reset ? nil : try Self.readCursor(stateFile)
        try await connection.withConnection { hub in
            var pause = 1
            while true {
                let page: Components.Schemas.FeedPage
                do {
                    switch try await hub.api.readFeed(query: .init(after: cursor, limit: 100, wait: exitWhenIdle ? 0 : wait)) {
                    case .ok(let ok): page = try ok.body.json
                    case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
                    }
                    pause = 1
                } catch let failure as CLIFailure {
                    throw failure
                } catch {
                    // The hub may be restarting: keep the cursor and try again.
                    Output.error("\(hub.explain(error).message); retrying in \(pause)s")
                    try await Task.sleep(for: .seconds(pause))
                    pause = min(pause * 2, maxBackoff)
                    continue
                }
                for event in page.events {
                    try await handle(event)
                    cursor = event.cursor
                    try Self.writeCursor(event.cursor, to: stateFile)
                }
                if page.events.isEmpty && exitWhenIdle { return }
            }
        }
    }

    /// Prints the event, or runs --exec until it succeeds.
    func handle(_ event: Components.Schemas.FeedEvent) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let line = try encoder.encode(event)
        guard let exec else {
            // --json (of the connection options) gives one line of JSON per event.
            print(connection.json ? String(decoding: line, as: UTF8.self) : Self.describe(event))
            return
        }
        var pause = 1
        while true {
            let status = try Self.run(exec, input: line + Data("\n".utf8))
            if status == 0 { return }
            Output.error("--exec exited with status \(status) for event \(event.cursor); retrying in \(pause)s (the cursor stays at the previous event)")
            try await Task.sleep(for: .seconds(pause))
            pause = min(pause * 2, maxBackoff)
        }
    }

    static func run(_ command: String, input: Data) throws -> Int32 {
        let process = try ChildProcess(executable: "/bin/sh", arguments: ["-c", command], input: .pipe)
        process.write(input)
        process.closeInput()
        return process.waitUntilExit().status
    }

    static func describe(_ event: Components.Schemas.FeedEvent) -> String {
        var parts = [String(event.cursor), Show.time(event.time), event._type]
        for (name, value) in [("item", event.item), ("request", event.request), ("grant", event.grant)] {
            if let value { parts.append("\(name)=\(value)") }
        }
        parts += event.detail.additionalProperties.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return parts.joined(separator: " ")
    }

    static func defaultState(for certificate: String) -> String {
        let name = ((certificate as NSString).lastPathComponent as NSString).deletingPathExtension
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".liaison/watch-\(name).cursor").path
    }

    static func readCursor(_ path: String) throws -> Int64? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        guard let cursor = DecimalText.parse(text.trimmingCharacters(in: .whitespacesAndNewlines), in: 0...Int64.max) else {
            throw ValidationError("\(path) does not hold a cursor; delete it or pass --reset")
        }
        return cursor
    }

    /// Written to a temporary file and renamed, so a crash leaves the old cursor or the new one, never half of one.
    static func writeCursor(_ cursor: Int64, to path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        let temporary = path + ".tmp"
        try Data("\(cursor)\n".utf8).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else { throw ValidationError("cannot write \(path)") }
    }
}
