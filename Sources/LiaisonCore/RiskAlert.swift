public import Foundation

/// An alert a rule raised: which rule, when, and the items behind it by id, unit and agency, never what they say
/// or whom they name. The principals it went to may list it and ask for access to its items in one step.
public struct RiskAlert: Sendable, Equatable {
    public let id: String
    public let rule: String
    public let time: Date
    /// The item whose push made the rule hold.
    public let trigger: String
    /// The items behind the alert, oldest first, and the agency that pushed each.
    public let itemIDs: [String]
    public let owners: [String]
    /// The units of those items, sorted.
    public let units: [String]
    /// The principals it went to, sorted.
    public let notified: [String]

    public init(id: String, rule: String, time: Date, trigger: String, itemIDs: [String], owners: [String], units: [String], notified: [String]) {
        self.id = id
        self.rule = rule
        self.time = time
        self.trigger = trigger
        self.itemIDs = itemIDs
        self.owners = owners
        self.units = units
        self.notified = notified
    }

    /// How many of the items each agency pushed.
    public var itemsByAgency: [String: Int] {
        owners.reduce(into: [:]) { counts, owner in counts[owner, default: 0] += 1 }
    }

    /// "office-3:1,stationed-transport:2": agencies and their counts, sorted, as flat text.
    public var agencySummary: String {
        itemsByAgency.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",")
    }
}
