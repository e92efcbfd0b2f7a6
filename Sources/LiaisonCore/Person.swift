/// What a person may do beyond reading as their agency.
public enum Role: String, Sendable, CaseIterable {
    case approver
    case auditor
    case administrator
}

/// A person with their own certificate who acts for one agency.
public struct Person: Sendable, Equatable {
    public let id: String
    public let name: String
    public let agency: String
    public let roles: [Role]
}
