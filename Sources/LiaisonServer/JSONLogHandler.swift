public import Foundation
import LiaisonCore
public import Logging

/// One JSON object per line, for log collectors: `time` (RFC 3339, UTC, milliseconds), `level`, `label`, `message`
/// and `metadata` (a flat object of strings). Lines go to standard error whole, with one write each.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    let label: String
    let write: @Sendable ([UInt8]) -> Void

    public init(label: String, write: @escaping @Sendable ([UInt8]) -> Void = JSONLogHandler.standardError) {
        self.label = label
        self.write = write
    }

    public static let standardError: @Sendable ([UInt8]) -> Void = { line in
        // One write(2) per line, so that lines from several threads never interleave.
        line.withUnsafeBufferPointer { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                guard written > 0 else { return }
                offset += written
            }
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let fields = effectiveMetadata(of: event)
        var line: [UInt8] = Array(#"{"time":"#.utf8)
        line.reserveCapacity(256)
        JSONText.appendString(Self.timestamp(Date()), to: &line)
        line.append(contentsOf: Array(#","level":"#.utf8))
        JSONText.appendString(event.level.rawValue, to: &line)
        line.append(contentsOf: Array(#","label":"#.utf8))
        JSONText.appendString(label, to: &line)
        line.append(contentsOf: Array(#","message":"#.utf8))
        JSONText.appendString(event.message.description, to: &line)
        line.append(contentsOf: Array(#","metadata":{"#.utf8))
        JSONText.appendMembers(fields.mapValues { "\($0)" }, to: &line)
        line.append(contentsOf: Array("}}\n".utf8))
        write(line)
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

extension LogHandler {
    /// The handler's metadata, its provider's and the event's own (later ones win), and the event's error as
    /// swift-log's StreamLogHandler names it: what the hub's two log formats write.
    func effectiveMetadata(of event: LogEvent) -> Logger.Metadata {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { _, new in new } }
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        if let error = event.error {
            fields["error.message"] = "\(error)"
            fields["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        return fields
    }
}
