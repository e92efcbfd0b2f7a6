import Foundation
import LiaisonCore
import LiaisonStore

/// Risk alerts, raised by the push that makes a rule of the policy hold, inside that push's transaction.
extension ItemService {
    /// What the push of `item` asks its store to watch for the policy's alert rules; nil when no rule counts its kind
    /// or the item has nothing a rule groups by.
    func alertWatch(for item: Item, under policy: Policy) -> AlertWatch? {
        var watched: [(rule: AlertRule, keys: [AlertKey])] = []
        var since: [AlertKey: Date] = [:]
        for rule in policy.alertRules(counting: item.kind) {
            let keys: [AlertKey]
            switch rule.grouping {
            case .person: keys = Set(vault.marks(.person, item.persons)).sorted().map(AlertKey.mark)
            case .tag: keys = Set(vault.marks(.tag, item.tags)).sorted().map(AlertKey.mark)
            case .unit: keys = [.unit(item.unit)]
            }
            guard !keys.isEmpty else { continue }
            let start = item.createdAt.addingTimeInterval(-Double(rule.window.seconds))
            for key in keys { since[key] = min(since[key] ?? start, start) }
            watched.append((rule, keys))
        }
        guard !watched.isEmpty else { return nil }
        let ids = self.ids
        let rules = watched
        return AlertWatch(keys: since) { found in
            var raised: [RaisedAlert] = []
            for (rule, keys) in rules {
                for key in keys {
                    guard let behind = rule.occurrence(among: found[key] ?? [], pushing: item.id, at: item.createdAt) else { continue }
                    raised.append(Self.alert(rule, over: behind, key: key, pushing: item, id: ids.next(at: item.createdAt), under: policy))
                }
            }
            return raised
        }
    }

    /// The alert, its trail entry and its events: which rule, which units, how many items of which agencies; the
    /// trail keeps a person's or tag's mark, never the name, and events carry no item id at all.
    static func alert(_ rule: AlertRule, over behind: [WatchedItem], key: AlertKey, pushing item: Item, id: String, under policy: Policy) -> RaisedAlert {
        let units = Set(behind.map(\.unit))
        let notified = policy.audience(of: rule, owners: Set(behind.map(\.owner)), units: units)
        let alert = RiskAlert(id: id, rule: rule.id, time: item.createdAt, trigger: item.id, itemIDs: behind.map(\.id), owners: behind.map(\.owner),
                              units: units.sorted(), notified: notified)
        var detail = ["rule": rule.id, "items": String(behind.count), "agencies": alert.agencySummary, "trigger": item.id, "notified": String(notified.count)]
        if case .mark(let mark) = key { detail["mark"] = mark }
        let audit = AuditRecord(time: item.createdAt, actor: "hub", action: .raiseAlert, targets: [id] + alert.itemIDs, unit: units.count == 1 ? units.first : nil,
                                detail: detail)
        let said = ["alert": id, "rule": rule.id, "name": rule.name, "units": alert.units.joined(separator: ","), "items": String(behind.count),
                    "agencies": alert.agencySummary, "within": rule.window.description]
        let events = notified.map { FeedEvent(principal: $0, kind: .riskAlert, time: item.createdAt, detail: said) }
        return RaisedAlert(alert: alert, audit: audit, events: events)
    }
}
