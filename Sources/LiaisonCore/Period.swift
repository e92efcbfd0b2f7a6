/// A length of time written as a whole number of days or hours (`7d`, `12h`): request lifetimes,
/// grant caps in the policy, and the duration an access request asks for.
public struct Period: Sendable, Equatable, Comparable, CustomStringConvertible {
    public let seconds: Int64

    public init(seconds: Int64) { self.seconds = seconds }

    /// Parses `<n>d` or `<n>h` with n from 1 to 3650 days' worth; nil for anything else.
    public init?(_ text: String) {
        guard let unit = text.last, let count = Int64(text.dropLast()), count > 0, text.first != "+" else { return nil }
        switch unit {
        case "d": seconds = count * 86_400
        case "h": seconds = count * 3_600
        default: return nil
        }
        guard seconds <= 3650 * 86_400 else { return nil }
    }

    public static let formatHint = "Write a whole number of days or hours, e.g. 7d or 12h"

    public var description: String {
        seconds % 86_400 == 0 ? "\(seconds / 86_400)d" : "\(seconds / 3_600)h"
    }

    public static func < (lhs: Period, rhs: Period) -> Bool { lhs.seconds < rhs.seconds }
}
