public import Foundation
public import OpenAPIRuntime

/// The JSON settings server and client share: compact, unsorted output (sorting keys cost a visible
/// share of every response) and UTC timestamps with milliseconds.
public enum Wire {
    public static let configuration = Configuration(dateTranscoder: MillisecondDateTranscoder(), jsonEncodingOptions: [.withoutEscapingSlashes])

    /// A JSON encoder that writes a schema's value as the generated layer does under `configuration` (its converter keeps
    /// its own private), for answers the server writes itself.
    public static let jsonEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        let options = configuration.jsonEncodingOptions
        var formatting: JSONEncoder.OutputFormatting = []
        if options.contains(.sortedKeys) { formatting.insert(.sortedKeys) }
        if options.contains(.prettyPrinted) { formatting.insert(.prettyPrinted) }
        if options.contains(.withoutEscapingSlashes) { formatting.insert(.withoutEscapingSlashes) }
        encoder.outputFormatting = formatting
        let transcoder = configuration.dateTranscoder
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(try transcoder.encode(date))
        }
        return encoder
    }()
}

/// RFC 3339 timestamps like `2026-11-21T18:35:19.123Z`, formatted with integer arithmetic:
/// ISO8601DateFormatter took a visible share of every response in the push benchmark.
public struct MillisecondDateTranscoder: DateTranscoder {
    public init() {}

    public func encode(_ date: Date) throws -> String {
        let totalMillis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(totalMillis >= 0 ? totalMillis / 1000 : (totalMillis - 999) / 1000)
        let millis = Int(totalMillis - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var bytes = [UInt8]()
        bytes.reserveCapacity(24)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                bytes.append(UInt8(48 + rest / divisor))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4); bytes.append(45)
        digits(Int(parts.tm_mon) + 1, 2); bytes.append(45)
        digits(Int(parts.tm_mday), 2); bytes.append(84)
        digits(Int(parts.tm_hour), 2); bytes.append(58)
        digits(Int(parts.tm_min), 2); bytes.append(58)
        digits(Int(parts.tm_sec), 2); bytes.append(46)
        digits(millis, 3); bytes.append(90)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The instants a timestamp may name: years 0001 to 9999. Anything beyond is refused rather than
    /// carried into millisecond arithmetic, where it would overflow or silently match everything.
    public static let range = Date(timeIntervalSince1970: -62_135_596_800)...Date(timeIntervalSince1970: 253_402_300_799.999)

    public func decode(_ text: String) throws -> Date {
        if let date = Self.parseUTC(text) { return date }
        // Other RFC 3339 forms (offsets, other precisions) take the slow, general path.
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = text.contains(".") ? [.withInternetDateTime, .withFractionalSeconds] : [.withInternetDateTime]
        guard text.utf8.count <= 40, let date = formatter.date(from: text), Self.range.contains(date) else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "not an RFC 3339 timestamp between years 0001 and 9999"))
        }
        return date
    }

    /// Whether `text` is a timestamp this transcoder takes.
    public static func accepts(_ text: String) -> Bool { (try? MillisecondDateTranscoder().decode(text)) != nil }

    /// `YYYY-MM-DDTHH:MM:SS[.fff]Z` by integer arithmetic (a formatter per value made `audit verify` crawl).
    static func parseUTC(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 20 || (bytes.count == 24 && bytes[19] == 46), bytes.last == 90,
              bytes[4] == 45, bytes[7] == 45, bytes[10] == 84, bytes[13] == 58, bytes[16] == 58 else { return nil }
        func number(_ from: Int, _ count: Int) -> Int? {
            var value = 0
            for byte in bytes[from..<(from + count)] {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
              let minute = number(14, 2), let second = number(17, 2), (1...12).contains(month), (1...31).contains(day),
              year >= 1, hour < 24, minute < 60, second < 61 else { return nil }
        let millis = bytes.count == 24 ? number(20, 3) : 0
        guard let millis else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let seconds = timegm(&parts)
        return Date(timeIntervalSince1970: Double(Int64(seconds) * 1000 + Int64(millis)) / 1000)
    }
}
