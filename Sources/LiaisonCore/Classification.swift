/// How sensitive an item is. Ordered: a derived item carries the highest level of what it contains.
public enum Classification: String, Sendable, CaseIterable, Comparable, Codable {
    case general
    case restricted
    case confidential

    var rank: Int {
        switch self {
        case .general: return 0
        case .restricted: return 1
        case .confidential: return 2
        }
    }

    public static func < (lhs: Classification, rhs: Classification) -> Bool { lhs.rank < rhs.rank }

    /// The names a caller may use, for error hints.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
