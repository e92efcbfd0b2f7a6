public import Foundation

/// A relationship between the reader's agency and an item, named in the policy's sharing rules.
/// The policy decides which relationships open which level; this type only knows how to test one.
public enum Relationship: String, Sendable, CaseIterable {
    /// The reader's agency owns the item.
    case owner
    /// The reader's agency is the office that leads the owner.
    case ownerOffice = "owner-office"
    /// The reader's agency is a stationed group led by the owner's office (the owner itself if it is an office).
    case ownerOfficeStationedGroups = "owner-office-stationed-groups"
    /// The reader's agency is an inspection team assigned to the item's unit, and its window is open now.
    case assignedInspectionTeam = "assigned-inspection-team"
    /// The reader's agency is a stationed group embedded in the item's unit.
    case unitStationedGroup = "unit-stationed-group"
    /// The reader's agency is the commission.
    case commission
    /// Any declared principal.
    case anyPrincipal = "any-principal"

    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// The facts about an item that access decisions look at.
public struct ItemSubject: Sendable, Hashable {
    public let owner: String
    public let unit: String
    public let classification: Classification

    public init(owner: String, unit: String, classification: Classification) {
        self.owner = owner
        self.unit = unit
        self.classification = classification
    }
}

extension Policy {
    /// Whether `relationship` holds between `reader` and `item` at `now`. No strings are built: this runs for every item listed.
    public func holds(_ relationship: Relationship, reader: Principal, item: ItemSubject, at now: Date) -> Bool {
        let agency = reader.agency
        switch relationship {
        case .owner:
            return agency.id == item.owner
        case .ownerOffice:
            return agency.type == .office && agency.leads.contains(item.owner)
        case .ownerOfficeStationedGroups:
            guard agency.type == .stationedGroup, let office = office(of: item.owner) else { return false }
            return office.leads.contains(agency.id)
        case .assignedInspectionTeam:
            return agency.type == .inspectionTeam && agency.assignments.contains { $0.unit == item.unit && $0.window.contains(now) }
        case .unitStationedGroup:
            return agency.type == .stationedGroup && agency.units.contains(item.unit)
        case .commission:
            return agency.type == .commission
        case .anyPrincipal:
            return true
        }
    }

    /// Why a relationship that holds does so, in words, for `policy explain`.
    func why(_ relationship: Relationship, reader: Principal, item: ItemSubject) -> String {
        let agency = reader.agency.id
        switch relationship {
        case .owner: return "\(agency) owns the item"
        case .ownerOffice: return "\(agency) is the office that leads \(item.owner), the owner"
        case .ownerOfficeStationedGroups: return "\(agency) is a stationed group led by \(office(of: item.owner)?.id ?? "?"), the owner's office"
        case .assignedInspectionTeam: return "\(agency) is assigned to \(item.unit) and its window is open"
        case .unitStationedGroup: return "\(agency) is the stationed group in \(item.unit)"
        case .commission: return "\(agency) is the commission"
        case .anyPrincipal: return "\(reader.id) is a declared principal"
        }
    }

    /// The office an agency reports to: itself if it is an office, the office that leads it if it is a stationed group.
    public func office(of agencyID: String) -> Agency? {
        guard let agency = agencies[agencyID] else { return nil }
        if agency.type == .office { return agency }
        return officeLeading[agencyID].flatMap { agencies[$0] }
    }
}
