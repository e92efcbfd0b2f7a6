/// A declared certificate holder, resolved: an agency acting for itself, or a person acting for their agency.
public struct Principal: Sendable, Equatable {
    public let id: String
    public let name: String
    /// The agency whose reading rights this principal exercises and which owns what it pushes.
    public let agency: Agency
    /// Nil when the principal is the agency itself.
    public let person: Person?

    public var roles: [Role] { person?.roles ?? [] }
}
