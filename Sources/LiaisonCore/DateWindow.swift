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

    /// Parses `YYYY-MM-DD` as a UTC day.
    public static func day(_ text: String) -> Date? {
        let parts = text.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: year, month: month, day: day)
        guard components.isValidDate(in: calendar) else { return nil }
        return calendar.date(from: components)
    }
}
