import Foundation
public import Logging

/// A metadata field of a log line, its value as written.
public typealias LogField = (key: String, value: String)

/// What a log line looks like: the daemon's two formats (`--log-format text` or `json`).
public protocol LogLineFormat: Sendable {
    /// The whole line, newline included, for an event with its metadata already merged.
    static func line(of event: LogEvent, label: String, metadata: Logger.Metadata) -> [UInt8]
    /// The same line from its parts, the fields already in the format's order (by key).
    static func line(level: Logger.Level, label: String, message: String, source: String, fields: [LogField]) -> [UInt8]
}

/// A handler that writes a line of fields given in order as it would write them as swift-log metadata, without the
/// metadata's dictionary: the request log's way (`RequestObservationMiddleware`), a line for every request.
protocol FieldLineWriting: Sendable {
    /// False when the handler would add fields of its own, which only the swift-log way merges.
    var writesFieldsAlone: Bool { get }
    func write(level: Logger.Level, message: String, source: String, fields: [LogField])
}

/// The daemon's log handler: one line per event in `Format`, written to standard error whole (`StandardError`).
/// The metadata is only merged and formatted when a line is written (swift-log's StreamLogHandler formats it again
/// whenever one key is set, and the HTTP server sets a request id on every request's logger).
public struct LineLogHandler<Format: LogLineFormat>: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    let label: String
    /// Writes a whole line at its level (which `StandardError` batches by).
    let write: @Sendable (_ line: [UInt8], _ level: Logger.Level) -> Void

    public init(label: String, write: @escaping @Sendable (_ line: [UInt8], _ level: Logger.Level) -> Void = StandardError.write) {
        self.label = label
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        write(Format.line(of: event, label: label, metadata: effectiveMetadata(of: event)), event.level)
    }

    /// The handler's metadata, its provider's and the event's own (later ones win), and the event's error as
    /// swift-log's StreamLogHandler names it.
    func effectiveMetadata(of event: LogEvent) -> Logger.Metadata {
        // Every request's line carries its own metadata alone: taken as it is, not copied key by key into another.
        if metadata.isEmpty, metadataProvider == nil, event.error == nil { return event.metadata ?? [:] }
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

extension LineLogHandler: FieldLineWriting {
    var writesFieldsAlone: Bool { metadata.isEmpty && metadataProvider == nil }

    func write(level: Logger.Level, message: String, source: String, fields: [LogField]) {
        guard level >= logLevel else { return }
        write(Format.line(level: level, label: label, message: message, source: source, fields: fields), level)
    }
}

/// One JSON object per line, for log collectors: `time` (RFC 3339, UTC, milliseconds), `level`, `label`, `message`
/// and `metadata` (a flat object of strings).
public typealias JSONLogHandler = LineLogHandler<JSONLines>

/// swift-log's StreamLogHandler line: local time, level, label, sorted metadata, source, message.
public typealias TextLogHandler = LineLogHandler<TextLines>
