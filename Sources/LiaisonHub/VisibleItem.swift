public import LiaisonCore

/// An item as one principal may see it: whole, or as a withheld stub (id, kind, level, owner, unit, time).
public struct VisibleItem: Sendable, Equatable {
    public let item: Item
    public let access: AccessDecision.Access

    public var isWithheld: Bool { access == .withheld }
}

/// One page of a listing; `nextCursor` is nil on the last page.
public struct ItemPage: Sendable, Equatable {
    public let items: [VisibleItem]
    public let nextCursor: String?
}

/// A payload ready to hand to its reader.
public struct DeliveredPayload: Sendable {
    public let bytes: [UInt8]
    public let contentType: String
    public let sha256: String
    let unit: String
}
