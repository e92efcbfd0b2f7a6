/// A kind of item the policy declares (report, lead, petition, ...).
public struct ItemKind: Sendable, Equatable {
    public let id: String
    public let name: String
    /// Per level, who reads items of this kind without approval, in place of the level's own list (`kinds:` in the
    /// policy, e.g. feedback readable by the unit's stationed group and its office); levels not named follow the level.
    public let readableWithoutApproval: [Classification: [Relationship]]
    /// Per level, who sees withheld stubs of items of this kind, in place of the level's own list.
    public let withheldStubVisibleTo: [Classification: [Relationship]]

    public init(id: String, name: String, readableWithoutApproval: [Classification: [Relationship]] = [:], withheldStubVisibleTo: [Classification: [Relationship]] = [:]) {
        self.id = id
        self.name = name
        self.readableWithoutApproval = readableWithoutApproval
        self.withheldStubVisibleTo = withheldStubVisibleTo
    }

    /// Whether the kind changes any level's rule.
    public var hasRules: Bool { !readableWithoutApproval.isEmpty || !withheldStubVisibleTo.isEmpty }
}
