/// A kind of item the policy declares (report, lead, petition, ...).
public struct ItemKind: Sendable, Equatable {
    public let id: String
    public let name: String
}
