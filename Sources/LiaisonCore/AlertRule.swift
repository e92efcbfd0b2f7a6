public import Foundation

/// A risk-alert rule of the policy (廉政风险预警): items that name one person (or tag), or concern one unit,
/// gathering within a window, e.g. "a person named by at least 2 agencies within 180 days" or "3 petitions about
/// one unit within 30 days". A push that makes a rule hold raises an alert to the principals the rule names.
public struct AlertRule: Sendable, Equatable {
    /// What the items a rule counts have in common.
    public enum Grouping: String, Sendable, CaseIterable {
        case person, tag, unit
    }

    /// Who an alert goes to, from the items behind it.
    public enum Audience: String, Sendable, CaseIterable {
        /// The commission's agency and its people.
        case commission
        /// The commission's people with the approver role.
        case commissionApprovers = "commission-approvers"
        /// The agencies that pushed the items, and their people.
        case owners
        /// The offices leading those agencies (an office that pushed leads itself), and their people.
        case ownerOffices = "owner-offices"
        /// The stationed group embedded in each unit of the items, and its people.
        case unitStationedGroup = "unit-stationed-group"
        /// The office leading that group, and its people.
        case unitOffice = "unit-office"

        public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
    }

    public let id: String
    public let name: String
    public let grouping: Grouping
    /// The kinds counted; nil counts every kind.
    public let kinds: Set<String>?
    public let minimumItems: Int
    public let minimumAgencies: Int
    public let window: Period
    public let notify: [Audience]

    public init(id: String, name: String, grouping: Grouping, kinds: Set<String>?, minimumItems: Int, minimumAgencies: Int, window: Period, notify: [Audience]) {
        self.id = id
        self.name = name
        self.grouping = grouping
        self.kinds = kinds
        self.minimumItems = minimumItems
        self.minimumAgencies = minimumAgencies
        self.window = window
        self.notify = notify
    }

    /// Whether items of `kind` count for this rule.
    public func counts(_ kind: String) -> Bool { kinds?.contains(kind) ?? true }

    /// Whether the rule holds over these items (already of one group and inside the window).
    public func holds(_ items: [WatchedItem]) -> Bool {
        items.count >= minimumItems && Set(items.map(\.owner)).count >= minimumAgencies
    }

    /// The items behind an occurrence that the push of `newItem` at `now` starts, oldest first; nil when the rule
    /// does not hold with it, or already held without it. Counts in a window only grow by pushes, so a rule that
    /// holds without the new item has held since the last push of its group: that occurrence was alerted then.
    public func occurrence(among group: [WatchedItem], pushing newItem: String, at now: Date) -> [WatchedItem]? {
        let since = now.addingTimeInterval(-Double(window.seconds))
        let counted = group.filter { counts($0.kind) && $0.time >= since && $0.time <= now }.sorted { $0.id < $1.id }
        guard counted.contains(where: { $0.id == newItem }), holds(counted), !holds(counted.filter { $0.id != newItem }) else { return nil }
        return counted
    }
}

/// An item as an alert rule counts it: never its title, persons or payload.
public struct WatchedItem: Sendable, Equatable {
    public let id: String
    public let kind: String
    public let owner: String
    public let unit: String
    public let time: Date

    public init(id: String, kind: String, owner: String, unit: String, time: Date) {
        self.id = id
        self.kind = kind
        self.owner = owner
        self.unit = unit
        self.time = time
    }
}
