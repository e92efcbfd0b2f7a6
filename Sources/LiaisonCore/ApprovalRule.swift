/// Who may approve access to items of one level, and how many must.
public struct ApprovalRule: Sendable, Equatable {
    /// Relationships of an approver's agency to the item's owner that make the approver eligible
    /// (e.g. `owner`: approvers of the owner's agency; `owner-office`; `commission`).
    public let approvers: [Relationship]
    /// Distinct eligible approvals needed.
    public let required: Int
    /// Whether at least one of them must come from an approver of the commission.
    public let commissionRequired: Bool
    /// The longest grant a request may ask for.
    public let maxGrant: Period

    public init(approvers: [Relationship], required: Int, commissionRequired: Bool, maxGrant: Period) {
        self.approvers = approvers
        self.required = required
        self.commissionRequired = commissionRequired
        self.maxGrant = maxGrant
    }
}
