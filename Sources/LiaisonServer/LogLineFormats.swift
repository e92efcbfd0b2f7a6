import Foundation
import LiaisonCore
public import Logging
import Synchronization

/// `{"time":…,"level":…,"label":…,"message":…,"metadata":{…}}`.
public enum JSONLines: LogLineFormat {
    public static func line(of event: LogEvent, label: String, metadata: Logger.Metadata) -> [UInt8] {
        let fields = metadata.map { (key: $0.key, value: LogText.text($0.value)) }.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        return line(level: event.level, label: label, message: event.message.description, source: event.source, fields: fields)
    }

    public static func line(level: Logger.Level, label: String, message: String, source: String, fields: [LogField]) -> [UInt8] {
        var line: [UInt8] = Array(#"{"time":"#.utf8)
        line.reserveCapacity(256)
        JSONText.appendString(timestamp(Date()), to: &line)
        line.append(contentsOf: #","level":"#.utf8)
        JSONText.appendString(level.rawValue, to: &line)
        line.append(contentsOf: #","label":"#.utf8)
        JSONText.appendString(label, to: &line)
        line.append(contentsOf: #","message":"#.utf8)
        JSONText.appendString(message, to: &line)
        line.append(contentsOf: #","metadata":{"#.utf8)
        JSONText.appendOrderedMembers(fields, to: &line)
        line.append(contentsOf: "}}\n".utf8)
        return line
    }

    private static let seconds = SecondStamp { second in
        var seconds = time_t(second)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return LogText.strftime("%Y-%m-%dT%H:%M:%S", parts)
    }

    /// `2026-12-01T21:53:20.123Z`.
    static func timestamp(_ date: Date) -> String {
        let milliseconds = date.millisecondsSince1970
        let fraction = Int((milliseconds % 1000 + 1000) % 1000)
        var text = seconds.text(at: Int((milliseconds - Int64(fraction)) / 1000))
        text.append(contentsOf: [UInt8(ascii: "."), UInt8(48 + fraction / 100), UInt8(48 + fraction / 10 % 10), UInt8(48 + fraction % 10), UInt8(ascii: "Z")])
        return String(decoding: text, as: UTF8.self)
    }
}

/// `2026-12-04T18:35:19+0000 notice liaisond: key=value [source] message`, as swift-log's StreamLogHandler writes it.
public enum TextLines: LogLineFormat {
    public static func line(of event: LogEvent, label: String, metadata: Logger.Metadata) -> [UInt8] {
        let fields = metadata.map { (key: $0.key, value: LogText.text($0.value)) }.sorted { $0.key < $1.key }
        return line(level: event.level, label: label, message: event.message.description, source: event.source, fields: fields)
    }

    public static func line(level: Logger.Level, label: String, message: String, source: String, fields: [LogField]) -> [UInt8] {
        var line = seconds.text(at: time(nil))
        line.reserveCapacity(256)
        line.append(UInt8(ascii: " "))
        line.append(contentsOf: level.rawValue.utf8)
        if !label.isEmpty { line.append(UInt8(ascii: " ")) }
        line.append(contentsOf: label.utf8)
        line.append(UInt8(ascii: ":"))
        for field in fields {
            line.append(UInt8(ascii: " "))
            line.append(contentsOf: field.key.utf8)
            line.append(UInt8(ascii: "="))
            line.append(contentsOf: field.value.utf8)
        }
        line.append(contentsOf: " [".utf8)
        line.append(contentsOf: source.utf8)
        line.append(contentsOf: "] ".utf8)
        line.append(contentsOf: message.utf8)
        line.append(UInt8(ascii: "\n"))
        return line
    }

    /// Local time with its offset: `2026-12-04T18:35:19+0000`.
    private static let seconds = SecondStamp { second in
        var now = time_t(second)
        var parts = tm()
        localtime_r(&now, &parts)
        return LogText.strftime("%Y-%m-%dT%H:%M:%S%z", parts)
    }

    static func timestamp() -> String { String(decoding: seconds.text(at: time(nil)), as: UTF8.self) }
}

/// What the two formats share.
enum LogText {
    /// A metadata value as swift-log prints it; a string (nearly all of them) as it is.
    static func text(_ value: Logger.MetadataValue) -> String {
        if case .string(let string) = value { return string }
        return "\(value)"
    }

    static func strftime(_ format: String, _ parts: tm) -> [UInt8] {
        var parts = parts
        var buffer = [CChar](repeating: 0, count: 64)
        let length = Foundation.strftime(&buffer, buffer.count, format, &parts)
        return buffer.prefix(length).map { UInt8(bitPattern: $0) }
    }
}

/// The text of one second, made when the second changes rather than for every line: a calendar conversion and
/// `strftime` cost more than the rest of a request's log line.
final class SecondStamp: Sendable {
    private let last = Mutex<(second: Int, text: [UInt8])>((.min, []))
    private let make: @Sendable (_ second: Int) -> [UInt8]

    init(_ make: @escaping @Sendable (_ second: Int) -> [UInt8]) { self.make = make }

    func text(at second: Int) -> [UInt8] {
        if let text = last.withLock({ $0.second == second ? $0.text : nil }) { return text }
        let text = make(second)
        last.withLock { $0 = (second, text) }
        return text
    }
}
