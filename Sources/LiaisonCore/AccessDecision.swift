/// What a principal may see of one item, with what decided it. The sentence that says which rule decided and why
/// it applied (`reason`, for `policy explain`) is built from `basis` only when asked, so the hot path never builds it.
public struct AccessDecision: Sendable, Equatable {
    public enum Access: String, Sendable {
        /// Metadata and payload.
        case read
        /// Only a stub: id, kind, level, owner, unit.
        case withheld
        /// Nothing: the item does not exist for this principal.
        case hidden
    }

    /// What made the decision.
    public enum Basis: Sendable, Equatable {
        /// The policy has no rule for the level.
        case noRule(Classification)
        /// A relationship of the level's readers holds.
        case readable(LevelRule, Relationship, RelationshipEvidence)
        /// None of the readers' relationships holds for `reader` (an agency), but one of the stub's does.
        case withheld(LevelRule, reader: String, Relationship, RelationshipEvidence)
        /// None holds.
        case hidden(LevelRule, reader: String)
        /// Decided beyond the policy's rules (a grant), in words.
        case stated(String)
    }

    public let access: Access
    public let basis: Basis

    public init(access: Access, basis: Basis) {
        self.access = access
        self.basis = basis
    }

    public init(access: Access, reason: String) {
        self.init(access: access, basis: .stated(reason))
    }

    /// The sentence that says which rule decided and why it applied.
    public var reason: String {
        switch basis {
        case .noRule(let level):
            return "the policy has no rule for \(level.rawValue) items"
        case .readable(let rule, let relationship, let evidence):
            return "\(rule.subject) are readable by \(relationship.rawValue): \(evidence)"
        case .withheld(let rule, let reader, let relationship, let evidence):
            return "\(rule.subject) are readable without approval only by \(Self.names(rule.readableWithoutApproval)); \(reader) is none of these, "
                + "but \(relationship.rawValue) sees a withheld stub (\(evidence)) and may ask for access"
        case .hidden(let rule, let reader):
            return "\(rule.subject) are readable without approval only by \(Self.names(rule.readableWithoutApproval)), and withheld stubs are shown only to "
                + "\(Self.names(rule.withheldStubVisibleTo)); \(reader) is none of these"
        case .stated(let reason):
            return reason
        }
    }

    static func names(_ relationships: [Relationship]) -> String { relationships.map(\.rawValue).joined(separator: ", ") }
}
