import Foundation
public import LiaisonCore
import LiaisonStore

/// An alert as one of the principals it went to sees it.
public struct AlertView: Sendable, Equatable {
    public let alert: RiskAlert
    /// The rule's name in the policy in force (nil if the rule has since been removed).
    public let ruleName: String?
    /// How many of the items behind it the viewer cannot read yet (`liaison request --alert` asks for them).
    public let unread: Int
}

/// The risk alerts the policy's rules raised (`ItemService` raises them with the push that makes a rule hold):
/// listed for the principals they went to, and for auditors.
public struct AlertService: Sendable {
    let store: any AlertStore
    let items: any ItemStore
    let access: AccessResolver

    /// The newest alerts that went to the caller (every alert, for an auditor), newest first.
    public func alerts(limit: Int, in context: HubContext) async throws -> [AlertView] {
        try await context.traced(.listAlerts) {
            guard (1...500).contains(limit) else { throw HubError.invalidField("limit", "limit must be between 1 and 500", hint: "Ask for at most 500 alerts") }
            let viewer = context.principal
            let alerts = try await store.alerts(notifying: viewer.roles.contains(.auditor) ? nil : viewer.id, limit: limit)
            let behind = Dictionary(try await items.items(ids: Array(Set(alerts.flatMap(\.itemIDs)))).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            let accessNow = try await access.readerAccess(to: behind.values, in: context)
            let views = alerts.map { alert in
                AlertView(alert: alert, ruleName: context.policy.alerts.first { $0.id == alert.rule }?.name,
                          unread: alert.itemIDs.filter { id in behind[id].map { accessNow.of($0) != .read } ?? false }.count)
            }
            try await context.record(.listAlerts, targets: views.map(\.alert.id), detail: ["count": String(views.count)])
            return views
        }
    }

    /// The alert, if it went to the caller; a 400 on `alert` otherwise, saying nothing of whether it exists.
    func alert(id: String, sentTo principal: Principal) async throws -> RiskAlert {
        guard let alert = try await store.alert(id: id), alert.notified.contains(principal.id) else {
            throw HubError.invalidField("alert", "alert \(id) does not exist or was not sent to you", hint: "`liaison alerts` lists the alerts sent to you")
        }
        return alert
    }
}
