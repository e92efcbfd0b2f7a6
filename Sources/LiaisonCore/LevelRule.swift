/// How a level's payload is kept at rest.
public enum PayloadAtRest: String, Sendable, CaseIterable {
    case plain
    case encrypted
}

/// The policy's sharing rule for one classification level, or for items of one kind at that level.
public struct LevelRule: Sendable, Equatable {
    public let level: Classification
    /// Relationships that may read items of this level without approval, in the order they are checked.
    public let readableWithoutApproval: [Relationship]
    /// Relationships that learn an unreadable item exists (a withheld stub) so that they can ask for it.
    public let withheldStubVisibleTo: [Relationship]
    public let payloadAtRest: PayloadAtRest
    /// How access beyond the rule above is approved; nil when it cannot be.
    public let approval: ApprovalRule?
    /// The kind whose rule this is (the level's rule with the kind's readers); nil for the level's own rule.
    public let kind: String?

    init(level: Classification, readableWithoutApproval: [Relationship], withheldStubVisibleTo: [Relationship], payloadAtRest: PayloadAtRest,
         approval: ApprovalRule?, kind: String? = nil) {
        self.level = level
        self.readableWithoutApproval = readableWithoutApproval
        self.withheldStubVisibleTo = withheldStubVisibleTo
        self.payloadAtRest = payloadAtRest
        self.approval = approval
        self.kind = kind
    }

    /// The rule for items of `kind` at this level: its readers and stubs where the kind names them (itself if it names neither).
    func applying(_ kind: ItemKind) -> LevelRule {
        guard kind.readableWithoutApproval[level] != nil || kind.withheldStubVisibleTo[level] != nil else { return self }
        return LevelRule(level: level, readableWithoutApproval: kind.readableWithoutApproval[level] ?? readableWithoutApproval,
                  withheldStubVisibleTo: kind.withheldStubVisibleTo[level] ?? withheldStubVisibleTo, payloadAtRest: payloadAtRest, approval: approval, kind: kind.id)
    }

    /// The items the rule speaks of, in words: "general items", or "general feedback items (the rule of kind feedback)".
    var subject: String {
        kind.map { "\(level.rawValue) \($0) items (the rule of kind \($0))" } ?? "\(level.rawValue) items"
    }
}
