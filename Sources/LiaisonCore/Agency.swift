/// What kind of body an agency is; relationships in the policy depend on it.
public enum AgencyType: String, Sendable, CaseIterable {
    case commission
    case office
    case stationedGroup = "stationed-group"
    case inspectionTeam = "inspection-team"
}

/// An inspection team's assignment to a unit for a window of days.
public struct Assignment: Sendable, Equatable {
    public let unit: String
    public let window: DateWindow
}

/// A body that pushes and pulls items with its own certificate: commission, office,
/// stationed group or inspection team.
public struct Agency: Sendable, Equatable {
    public let id: String
    public let name: String
    public let type: AgencyType
    /// For an office: the stationed groups it leads.
    public let leads: [String]
    /// For a stationed group: the units it is embedded in.
    public let units: [String]
    /// For an inspection team: where and when it inspects.
    public let assignments: [Assignment]
}
