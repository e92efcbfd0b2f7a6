import Foundation
import HTTPTypes
import Logging
import Synchronization
import Testing
@testable import LiaisonServer

/// The daemon's text log writes what swift-log's StreamLogHandler writes, with metadata formatted only when a line is written.
@Suite("Text log")
struct TextLogHandlerTests {
    final class Lines: TextOutputStream, @unchecked Sendable {
        var text = ""
        func write(_ string: String) { text += string }
    }

    /// The line without its timestamp (the two handlers may read the clock in different seconds).
    static func untimed(_ line: String) -> Substring { line.drop { $0 != " " } }

    @Test func aLineReadsAsStreamLogHandlersLine() throws {
        let written = Mutex<[String]>([])
        var ours = Logger(label: "liaisond") { label in TextLogHandler(label: label) { bytes, _ in written.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } } }
        let lines = Lines()
        var theirs = Logger(label: "liaisond") { label in StreamLogHandler(label: label, stream: lines, metadataProvider: nil) }
        for key in ["hb.request.id", "b", "a"] {
            ours[metadataKey: key] = "value of \(key)"
            theirs[metadataKey: key] = "value of \(key)"
        }
        ours.notice("request", metadata: ["status": "200", "principal": "office-3"])
        theirs.notice("request", metadata: ["status": "200", "principal": "office-3"])
        ours.warning("no metadata of its own")
        theirs.warning("no metadata of its own")
        let emptyOurs = Logger(label: "") { label in TextLogHandler(label: label) { bytes, _ in written.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } } }
        let emptyTheirs = Logger(label: "") { label in StreamLogHandler(label: label, stream: lines, metadataProvider: nil) }
        emptyOurs.error("bare")
        emptyTheirs.error("bare")
        // Only the line's own metadata (a request's line): taken as it is.
        emptyOurs.notice("request", metadata: ["status": "200", "principal": "office-3"])
        emptyTheirs.notice("request", metadata: ["status": "200", "principal": "office-3"])
        let theirLines = lines.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { String($0) + "\n" }
        let ourLines = written.withLock { $0 }
        #expect(ourLines.count == 4)
        #expect(ourLines.map(Self.untimed) == theirLines.map(Self.untimed))
        #expect(Self.untimed(ourLines[0]) == " notice liaisond: a=value of a b=value of b hb.request.id=value of hb.request.id principal=office-3 status=200 [LiaisonTests] request\n")
        #expect(Self.untimed(ourLines[3]) == " notice: principal=office-3 status=200 [LiaisonTests] request\n")
        // The timestamp is StreamLogHandler's form: local time with its offset.
        #expect(ourLines[0].prefix { $0 != " " }.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}/) != nil)
    }

    /// The JSON log's time is UTC with milliseconds; its second is made once per second, so lines of other
    /// seconds, before and after, each get their own.
    @Test func jsonTimesAreUTCWithMilliseconds() {
        #expect(JSONLines.timestamp(Date(timeIntervalSince1970: 1_800_000_000)) == "2027-01-15T08:00:00.000Z")
        #expect(JSONLines.timestamp(Date(timeIntervalSince1970: 1_800_000_001.75)) == "2027-01-15T08:00:01.750Z")
        #expect(JSONLines.timestamp(Date(timeIntervalSince1970: 1_800_000_061.5)) == "2027-01-15T08:01:01.500Z")
        #expect(JSONLines.timestamp(Date(timeIntervalSince1970: 1_800_000_001.25)) == "2027-01-15T08:00:01.250Z")
    }

    /// A request's duration in the log: milliseconds, two decimals, rounded half up.
    @Test func aRequestsDurationIsMillisecondsWithTwoDecimals() {
        #expect(RequestObservationMiddleware.milliseconds(.zero) == "0.00")
        #expect(RequestObservationMiddleware.milliseconds(.microseconds(860)) == "0.86")
        #expect(RequestObservationMiddleware.milliseconds(.nanoseconds(4_999)) == "0.00")
        #expect(RequestObservationMiddleware.milliseconds(.nanoseconds(5_000)) == "0.01")
        #expect(RequestObservationMiddleware.milliseconds(.microseconds(12_345)) == "12.35")
        #expect(RequestObservationMiddleware.milliseconds(.microseconds(99_995)) == "100.00")
        #expect(RequestObservationMiddleware.milliseconds(.seconds(2)) == "2000.00")
        #expect(RequestObservationMiddleware.milliseconds(.seconds(61) + .microseconds(70)) == "61000.07")
        #expect(RequestObservationMiddleware.milliseconds(.seconds(Int64.max)) == "\(Int64.max)000")
    }

    /// A request's line, written from its fields without swift-log's metadata dictionary, is the line swift-log's way
    /// writes for the same metadata, in both formats; a handler with fields of its own, or another handler, is left
    /// to swift-log.
    @Test func aRequestsLineIsWhatSwiftLogsWayWrites() throws {
        let written = Mutex<[String]>([])
        let capture: @Sendable ([UInt8], Logger.Level) -> Void = { bytes, _ in written.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } }
        let text = Logger(label: "liaisond") { TextLogHandler(label: $0, write: capture) }
        let json = Logger(label: "liaisond") { JSONLogHandler(label: $0, write: capture) }
        for logger in [text, json] {
            let observation = RequestObservationMiddleware(logger: logger, metrics: nil)
            #expect(observation.lines != nil)
            observation.observe(operation: "getItem", principal: "office-3", status: 404, since: .now, method: .get, path: "/v1/items/\"转义\"")
            observation.observe(operation: "none", principal: nil, status: 400, since: .now, method: .post, path: "/")
            for (principal, status, method, path) in [("office-3", "404", "GET", "/v1/items/\"转义\""), ("-", "400", "POST", "/")] {
                logger.info("request", metadata: ["operation": "\(principal == "-" ? "none" : "getItem")", "principal": "\(principal)", "status": "\(status)",
                                                  "duration_ms": "0.00", "method": "\(method)", "path": "\(path)"], source: RequestObservationMiddleware.source)
            }
        }
        let lines = written.withLock { $0 }
        #expect(lines.count == 8)
        // Timestamps and durations aside (the clock moves between the two ways).
        func untimed(_ line: String) -> String {
            line.replacing(/"time":"[^"]*"/, with: "").replacing(/duration_ms[=":]+[0-9.]+/, with: "").replacing(/^[^ {]+/, with: "")
        }
        for (fast, swiftLogs) in [(0, 2), (1, 3), (4, 6), (5, 7)] {
            #expect(untimed(lines[fast]) == untimed(lines[swiftLogs]), "\(lines[fast]) \(lines[swiftLogs])")
        }
        #expect(untimed(lines[0]) == " info liaisond:  method=GET operation=getItem path=/v1/items/\"转义\" principal=office-3 status=404 [LiaisonServer] request\n")
        #expect(lines[0].contains(/\ info liaisond: duration_ms=\d+\.\d\d method=GET\ /))
        #expect(lines[4].contains(/"message":"request","metadata":\{"duration_ms":"\d+\.\d\d","method":"GET","operation":"getItem","path":"\/v1\/items\/\\"转义\\"","principal":"office-3","status":"404"\}\}\n$/))
        // Fields of the handler's own, and handlers of other kinds, go swift-log's way.
        var withField = text
        withField[metadataKey: "hub"] = "a"
        #expect(RequestObservationMiddleware(logger: withField, metrics: nil).lines == nil)
        let lines2 = Lines()
        #expect(RequestObservationMiddleware(logger: Logger(label: "x") { StreamLogHandler(label: $0, stream: lines2, metadataProvider: nil) }, metrics: nil).lines == nil)
    }

    @Test func linesBelowTheLevelAreNotWritten() {
        let written = Mutex(0)
        var logger = Logger(label: "liaisond") { label in TextLogHandler(label: label) { _, _ in written.withLock { $0 += 1 } } }
        logger.logLevel = .warning
        logger.info("quiet")
        logger.warning("loud")
        #expect(written.withLock { $0 } == 1)
    }

    /// Lines below warning wait for the batch's delay and go together; a warning goes at once with every line before it,
    /// in order; a batch that is full goes at once; a flush leaves nothing waiting.
    @Test func lineBatchesKeepTheOrderAndWriteWarningsAtOnce() async throws {
        let written = Mutex<[String]>([])
        let batches = LineBatches(delay: .milliseconds(200), batch: 64) { bytes in written.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } }
        batches.write(Array("a\n".utf8), level: .info)
        batches.write(Array("b\n".utf8), level: .notice)
        #expect(written.withLock { $0 }.isEmpty, "lines below warning wait")
        batches.write(Array("c\n".utf8), level: .warning)
        #expect(written.withLock { $0 } == ["a\nb\nc\n"])

        batches.write(Array("d\n".utf8), level: .info)
        let deadline = ContinuousClock.now + .seconds(10)
        while written.withLock({ $0.count }) < 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(written.withLock { $0 } == ["a\nb\nc\n", "d\n"], "written once the delay passed")

        let long = String(repeating: "e", count: 70) + "\n"
        batches.write(Array(long.utf8), level: .debug)
        #expect(written.withLock { $0.last } == long, "a full batch goes at once")
        batches.write(Array("f\n".utf8), level: .info)
        batches.flush()
        #expect(written.withLock { $0 } == ["a\nb\nc\n", "d\n", long, "f\n"])
        batches.flush()
        #expect(written.withLock { $0.count } == 4, "nothing more to write")
    }
}
