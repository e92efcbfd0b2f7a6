public import Foundation

/// A closed range of calendar days in UTC: `from` 00:00 up to the end of `to`.
public struct DateWindow: Sendable, Equatable {
    public let from: Date
    /// The first instant after the window (00:00 UTC of the day after `to`).
    public let endExclusive: Date

    public init(from: Date, endExclusive: Date) {
        self.from = from
        self.endExclusive = endExclusive
    }

    public func contains(_ date: Date) -> Bool { date >= from && date < endExclusive }

    /// Parses `YYYY-MM-DD` (ASCII digits, years 0001 to 9999) as a UTC day.
    public static func day(_ text: String) -> Date? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].utf8.count == 4, parts[1].utf8.count == 2, parts[2].utf8.count == 2,
              let year = DecimalText.parse(parts[0], in: 1...9999), let month = DecimalText.parse(parts[1], in: 1...12),
              let day = DecimalText.parse(parts[2], in: 1...31) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: year, month: month, day: day)
        guard components.isValidDate(in: calendar) else { return nil }
        return calendar.date(from: components)
    }
}
