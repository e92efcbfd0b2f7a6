/// A department or body under supervision: the subject of items.
public struct Unit: Sendable, Equatable {
    public let id: String
    public let name: String
}
