/// What an agency sends to push an item; validated by the hub against the policy.
public struct PushRequest: Sendable {
    public var kind: String
    public var title: String
    public var unit: String
    public var classification: String
    public var contentType: String
    public var payload: [UInt8]
    /// `identity` (nil) or `cms`: the payload is CMS AuthEnvelopedData sealed to the hub's certificate.
    public var contentEncoding: String?
    public var persons: [String]
    public var tags: [String]
    public var idempotencyKey: String?
    /// For a rectification: the id of the feedback item it answers.
    public var answers: String?

    public init(kind: String, title: String, unit: String, classification: String, contentType: String, payload: [UInt8],
                contentEncoding: String? = nil, persons: [String] = [], tags: [String] = [], idempotencyKey: String? = nil) {
        self.contentEncoding = contentEncoding
        self.kind = kind
        self.title = title
        self.unit = unit
        self.classification = classification
        self.contentType = contentType
        self.payload = payload
        self.persons = persons
        self.tags = tags
        self.idempotencyKey = idempotencyKey
    }
}

/// The result of a push: the stored item, and whether it was a replay of an earlier push under the same key.
public struct PushReceipt: Sendable, Equatable {
    public let item: VisibleItem
    public let replayed: Bool
}
