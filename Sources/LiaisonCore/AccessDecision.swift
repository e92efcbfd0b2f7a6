/// What a principal may see of one item, with the rule that decided it (for `policy explain`).
public struct AccessDecision: Sendable, Equatable {
    public enum Access: String, Sendable {
        /// Metadata and payload.
        case read
        /// Only a stub: id, kind, level, owner, unit.
        case withheld
        /// Nothing: the item does not exist for this principal.
        case hidden
    }

    public let access: Access
    /// The sentence that says which rule decided and why it applied.
    public let reason: String

    public init(access: Access, reason: String) {
        self.access = access
        self.reason = reason
    }
}
