import Foundation
import LiaisonCore
public import Logging

/// `{"time":…,"level":…,"label":…,"message":…,"metadata":{…}}`.
public enum JSONLines: LogLineFormat {
    public static func line(of event: LogEvent, label: String, metadata: Logger.Metadata) -> [UInt8] {
        var line: [UInt8] = Array(#"{"time":"#.utf8)
        line.reserveCapacity(256)
        JSONText.appendString(timestamp(Date()), to: &line)
        line.append(contentsOf: Array(#","level":"#.utf8))
        JSONText.appendString(event.level.rawValue, to: &line)
        line.append(contentsOf: Array(#","label":"#.utf8))
        JSONText.appendString(label, to: &line)
        line.append(contentsOf: Array(#","message":"#.utf8))
        JSONText.appendString(event.message.description, to: &line)
        line.append(contentsOf: Array(#","metadata":{"#.utf8))
        JSONText.appendMembers(metadata.mapValues { "\($0)" }, to: &line)
        line.append(contentsOf: Array("}}\n".utf8))
        return line
    }

    /// `2026-12-01T21:53:20.123Z`.
    static func timestamp(_ date: Date) -> String {
        let milliseconds = date.millisecondsSince1970
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(milliseconds % 1000))
    }
}

/// `2026-12-04T18:35:19+0000 notice liaisond: key=value [source] message`, as swift-log's StreamLogHandler writes it.
public enum TextLines: LogLineFormat {
    public static func line(of event: LogEvent, label: String, metadata: Logger.Metadata) -> [UInt8] {
        let pretty = metadata.isEmpty ? "" : " " + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return Array("\(timestamp()) \(event.level)\(label.isEmpty ? "" : " ")\(label):\(pretty) [\(event.source)] \(event.message)\n".utf8)
    }

    /// Local time with its offset: `2026-12-04T18:35:19+0000`.
    static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let length = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
