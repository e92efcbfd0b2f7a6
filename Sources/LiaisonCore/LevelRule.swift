/// How a level's payload is kept at rest.
public enum PayloadAtRest: String, Sendable, CaseIterable {
    case plain
    case encrypted
}

/// The policy's sharing rule for one classification level.
public struct LevelRule: Sendable, Equatable {
    public let level: Classification
    /// Relationships that may read items of this level without approval, in the order they are checked.
    public let readableWithoutApproval: [Relationship]
    /// Relationships that learn an unreadable item exists (a withheld stub) so that they can ask for it.
    public let withheldStubVisibleTo: [Relationship]
    public let payloadAtRest: PayloadAtRest
    /// How access beyond the rule above is approved; nil when it cannot be.
    public let approval: ApprovalRule?
}
