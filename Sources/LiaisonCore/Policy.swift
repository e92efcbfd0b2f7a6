public import Foundation

/// The commission's declared world and its sharing rules, loaded from `policies/` and immutable after.
public struct Policy: Sendable {
    public let agencies: [String: Agency]
    public let people: [String: Person]
    public let units: [String: Unit]
    public let kinds: [String: ItemKind]
    public let levels: [Classification: LevelRule]
    /// How long an access request nobody decides stays open.
    public let requestLifetime: Period
    /// How long before its window opens an inspection team may build a dossier of its unit.
    public let dossierLeadTime: Period
    /// The risk-alert rules (`alerts:`), in the order declared.
    public let alerts: [AlertRule]
    /// Stationed group id -> the office that leads it, derived once at load.
    let officeLeading: [String: String]
    /// Every principal resolved once, so the hot path never re-derives them.
    let principals: [String: Principal]
    /// The people with the approver role, sorted by id: the only principals who may approve.
    let approvers: [Principal]
    /// For each kind with rules of its own, the rule of each level for items of that kind, derived once at load.
    let kindRules: [String: [Classification: LevelRule]]
    /// Who reads what, remembered (`readers(of:at:)`); shared by copies, as the policy never changes.
    let readerCache = ReaderCache()

    init(agencies: [Agency], people: [Person], units: [Unit], kinds: [ItemKind], levels: [LevelRule], requestLifetime: Period, dossierLeadTime: Period,
         alerts: [AlertRule] = []) {
        self.alerts = alerts
        self.requestLifetime = requestLifetime
        self.dossierLeadTime = dossierLeadTime
        self.agencies = Dictionary(agencies.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.people = Dictionary(people.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.units = Dictionary(units.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.kinds = Dictionary(kinds.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.levels = Dictionary(levels.map { ($0.level, $0) }, uniquingKeysWith: { first, _ in first })
        var officeLeading: [String: String] = [:]
        for agency in agencies where agency.type == .office {
            for group in agency.leads { officeLeading[group] = agency.id }
        }
        self.officeLeading = officeLeading
        var kindRules: [String: [Classification: LevelRule]] = [:]
        for kind in kinds where kind.hasRules {
            kindRules[kind.id] = self.levels.mapValues { $0.applying(kind) }
        }
        self.kindRules = kindRules
        var principals: [String: Principal] = [:]
        for agency in agencies {
            principals[agency.id] = Principal(id: agency.id, name: agency.name, agency: agency, person: nil)
        }
        for person in people {
            if let agency = self.agencies[person.agency] {
                principals[person.id] = Principal(id: person.id, name: person.name, agency: agency, person: person)
            }
        }
        self.principals = principals
        approvers = Set(people.map(\.id)).sorted().compactMap { principals[$0] }.filter { $0.roles.contains(.approver) }
    }

    /// The declared principal with this certificate CN, if any.
    public func principal(_ id: String) -> Principal? { principals[id] }

    public var principalIDs: [String] { principals.keys.sorted() }

    /// Every declared principal acting for `agency`: the agency itself and its people, sorted.
    public func principals(of agency: String) -> [String] {
        principalIDs.filter { principals[$0]?.agency.id == agency }
    }

    /// What `reader` may see of `item` at `now`: the level's rule (or its kind's), the first relationship that holds wins.
    public func access(of reader: Principal, to item: ItemSubject, at now: Date) -> AccessDecision.Access {
        decide(for: reader, about: item, at: now).access
    }

    /// The rule for `item`: its kind's, where the kind has rules of its own, else its level's.
    public func rule(for item: ItemSubject) -> LevelRule? {
        if let kind = item.kind, let rules = kindRules[kind] { return rules[item.classification] }
        return levels[item.classification]
    }

    /// The decision, carrying what made it; its sentence (`reason`, for `liaison policy explain`) is built only when asked.
    public func decide(for reader: Principal, about item: ItemSubject, at now: Date) -> AccessDecision {
        guard let rule = rule(for: item) else { return AccessDecision(access: .hidden, basis: .noRule(item.classification)) }
        if let (relationship, evidence) = firstHolding(rule.readableWithoutApproval, reader: reader, item: item, at: now) {
            return AccessDecision(access: .read, basis: .readable(rule, relationship, evidence))
        }
        if let (relationship, evidence) = firstHolding(rule.withheldStubVisibleTo, reader: reader, item: item, at: now) {
            return AccessDecision(access: .withheld, basis: .withheld(rule, reader: reader.agency.id, relationship, evidence))
        }
        return AccessDecision(access: .hidden, basis: .hidden(rule, reader: reader.agency.id))
    }
}
