/// A length of time written as a whole number of days or hours (`7d`, `12h`): request lifetimes,
/// grant caps in the policy, and the duration an access request asks for.
public struct Period: Sendable, Equatable, Comparable, CustomStringConvertible {
    public let seconds: Int64

    public init(seconds: Int64) { self.seconds = seconds }

    /// The longest period anything may name: ten years.
    public static let longest = Period(seconds: 3650 * 86_400)

    /// Parses `<n>d` or `<n>h` with n from 1 up to ten years' worth; nil for anything else (signs,
    /// other scripts' digits, numbers of any length beyond the bound), without ever overflowing.
    public init?(_ text: String) {
        let unitSeconds: Int64
        switch text.utf8.last {
        case UInt8(ascii: "d"): unitSeconds = 86_400
        case UInt8(ascii: "h"): unitSeconds = 3_600
        default: return nil
        }
        guard let count = DecimalText.parse(utf8: text.utf8.dropLast(), in: 1...Period.longest.seconds) else { return nil }
        let (product, overflow) = count.multipliedReportingOverflow(by: unitSeconds)
        guard !overflow, product <= Period.longest.seconds else { return nil }
        seconds = product
    }

    public static let formatHint = "Write a whole number of days or hours up to 3650d, e.g. 7d or 12h"

    public var description: String {
        seconds % 86_400 == 0 ? "\(seconds / 86_400)d" : "\(seconds / 3_600)h"
    }

    public static func < (lhs: Period, rhs: Period) -> Bool { lhs.seconds < rhs.seconds }
}
