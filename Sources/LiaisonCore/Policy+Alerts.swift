extension Policy {
    /// The rules that count items of `kind`.
    public func alertRules(counting kind: String) -> [AlertRule] {
        alerts.filter { $0.counts(kind) }
    }

    /// The principals (agencies and their people, or single people) an alert of `rule` goes to, given the agencies
    /// that pushed the items behind it and their units; sorted.
    public func audience(of rule: AlertRule, owners: Set<String>, units: Set<String>) -> [String] {
        var agencyIDs: Set<String> = []
        var people: Set<String> = []
        for audience in rule.notify {
            switch audience {
            case .commission:
                agencyIDs.formUnion(agencies.values.filter { $0.type == .commission }.map(\.id))
            case .commissionApprovers:
                people.formUnion(self.people.values.filter { $0.roles.contains(.approver) && agencies[$0.agency]?.type == .commission }.map(\.id))
            case .owners:
                agencyIDs.formUnion(owners.filter { agencies[$0] != nil })
            case .ownerOffices:
                agencyIDs.formUnion(owners.compactMap { office(of: $0)?.id })
            case .unitStationedGroup:
                agencyIDs.formUnion(stationedGroups(in: units))
            case .unitOffice:
                agencyIDs.formUnion(stationedGroups(in: units).compactMap { officeLeading[$0] })
            }
        }
        for agency in agencyIDs { people.formUnion(principals(of: agency)) }
        return people.sorted()
    }

    private func stationedGroups(in units: Set<String>) -> [String] {
        agencies.values.filter { $0.type == .stationedGroup && !units.isDisjoint(with: $0.units) }.map(\.id)
    }
}
