public import Foundation
public import LiaisonCore

/// One request as the services see it: who asks, the one policy snapshot it is decided under from start to end
/// (a reload meanwhile changes the next request, never this one), the time it is decided at, and the trail
/// its action and any refusal are recorded in. A class: a request hands it from layer to layer, and a copy of the
/// struct it was retained every reference of the principal, the policy and the trail (1.6% of a metadata read).
public final class HubContext: Sendable {
    public let principal: Principal
    public let policy: Policy
    /// When the request is decided: grants, windows and expiries are judged at this one moment.
    public let now: Date
    let trail: AuditTrail

    init(principal: Principal, policy: Policy, now: Date, trail: AuditTrail) {
        self.principal = principal
        self.policy = policy
        self.now = now
        self.trail = trail
    }

    /// Appends the caller's entry for `action`; if it cannot be written, the action must not happen, so this throws.
    func record(_ action: AuditAction, targets: [String] = [], unit: String? = nil, outcome: String = "ok", detail: [String: String] = [:]) async throws {
        try await trail.record(AuditRecord(time: trail.clock(), actor: principal.id, action: action, targets: targets, unit: unit, outcome: outcome, detail: detail))
    }

    /// Runs the caller's `action`, recording any refusal it throws.
    func traced<T>(_ action: AuditAction, targets: [String] = [], unit: String? = nil, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as HubError {
            throw await trail.refusal(error, actor: principal.id, action: action.rawValue, targets: targets, unit: unit)
        }
    }

    /// Records a refusal of this request that no service saw (the generated layer refused its input), once,
    /// under `operation` (the operationId, or the method and path when no operation matched).
    public func refusal(_ error: HubError, operation: String) async -> HubError {
        await trail.refusal(error, actor: principal.id, action: operation)
    }
}
