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
    /// The reader's agency is the office that leads a stationed group embedded in the item's unit.
    case unitOffice = "unit-office"
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
    /// The item's kind, for the policy's rules by kind; nil decides by the level's rule alone.
    public let kind: String?

    public init(owner: String, unit: String, classification: Classification, kind: String? = nil) {
        self.owner = owner
        self.unit = unit
        self.classification = classification
        self.kind = kind
    }
}

/// The facts that made a relationship hold, put in words only when asked (for `policy explain`), so that one
/// evaluation serves both the hot path, which only asks whether it holds, and the explanation.
public enum RelationshipEvidence: Sendable, Equatable, CustomStringConvertible {
    case owns(agency: String)
    case leadsOwner(office: String, owner: String)
    case ledByOwnersOffice(group: String, office: String)
    case assigned(team: String, unit: String)
    case stationed(group: String, unit: String)
    case leadsUnitGroup(office: String, group: String, unit: String)
    case commission(agency: String)
    case declared(principal: String)

    public var description: String {
        switch self {
        case .owns(let agency): return "\(agency) owns the item"
        case .leadsOwner(let office, let owner): return "\(office) is the office that leads \(owner), the owner"
        case .ledByOwnersOffice(let group, let office): return "\(group) is a stationed group led by \(office), the owner's office"
        case .assigned(let team, let unit): return "\(team) is assigned to \(unit) and its window is open"
        case .stationed(let group, let unit): return "\(group) is the stationed group in \(unit)"
        case .leadsUnitGroup(let office, let group, let unit): return "\(office) leads \(group), the stationed group in \(unit)"
        case .commission(let agency): return "\(agency) is the commission"
        case .declared(let principal): return "\(principal) is a declared principal"
        }
    }
}

extension Policy {
    /// Whether `relationship` holds between `reader` and `item` at `now`, with the evidence if it does.
    /// No strings are built: this runs for every item listed.
    public func evidence(_ relationship: Relationship, reader: Principal, item: ItemSubject, at now: Date) -> RelationshipEvidence? {
        let agency = reader.agency
        switch relationship {
        case .owner:
            return agency.id == item.owner ? .owns(agency: agency.id) : nil
        case .ownerOffice:
            return agency.type == .office && agency.leads.contains(item.owner) ? .leadsOwner(office: agency.id, owner: item.owner) : nil
        case .ownerOfficeStationedGroups:
            guard agency.type == .stationedGroup, let office = office(of: item.owner), office.leads.contains(agency.id) else { return nil }
            return .ledByOwnersOffice(group: agency.id, office: office.id)
        case .assignedInspectionTeam:
            let assigned = agency.type == .inspectionTeam && agency.assignments.contains { $0.unit == item.unit && $0.window.contains(now) }
            return assigned ? .assigned(team: agency.id, unit: item.unit) : nil
        case .unitStationedGroup:
            return agency.type == .stationedGroup && agency.units.contains(item.unit) ? .stationed(group: agency.id, unit: item.unit) : nil
        case .unitOffice:
            guard agency.type == .office, let group = agency.leads.first(where: { agencies[$0]?.units.contains(item.unit) == true }) else { return nil }
            return .leadsUnitGroup(office: agency.id, group: group, unit: item.unit)
        case .commission:
            return agency.type == .commission ? .commission(agency: agency.id) : nil
        case .anyPrincipal:
            return .declared(principal: reader.id)
        }
    }

    public func holds(_ relationship: Relationship, reader: Principal, item: ItemSubject, at now: Date) -> Bool {
        evidence(relationship, reader: reader, item: item, at: now) != nil
    }

    /// The first of `relationships` that holds, with its evidence.
    func firstHolding(_ relationships: [Relationship], reader: Principal, item: ItemSubject, at now: Date) -> (Relationship, RelationshipEvidence)? {
        for relationship in relationships {
            if let evidence = evidence(relationship, reader: reader, item: item, at: now) { return (relationship, evidence) }
        }
        return nil
    }

    /// The office an agency reports to: itself if it is an office, the office that leads it if it is a stationed group.
    public func office(of agencyID: String) -> Agency? {
        guard let agency = agencies[agencyID] else { return nil }
        if agency.type == .office { return agency }
        return officeLeading[agencyID].flatMap { agencies[$0] }
    }
}
