public import LiaisonCore

/// An item as one principal may see it: whole, or as a withheld stub (id, kind, level, owner, unit, time).
public struct VisibleItem: Sendable, Equatable {
    public let item: Item
    public let access: AccessDecision.Access
    /// The item's sealed metadata failed its integrity check: a listing shows its stub and says so,
    /// rather than failing for every item on the page.
    public var damaged = false

    public init(item: Item, access: AccessDecision.Access, damaged: Bool = false) {
        self.item = item
        self.access = access
        self.damaged = damaged
    }

    public var isWithheld: Bool { access == .withheld }
}

/// One page of a listing; `nextCursor` is nil on the last page.
public struct ItemPage: Sendable, Equatable {
    public let items: [VisibleItem]
    public let nextCursor: String?
}

/// A payload ready to hand to its reader.
public struct DeliveredPayload: Sendable {
    /// The plaintext, or for a payload stored encrypted, CMS AuthEnvelopedData addressed to the reader (DER; BER with
    /// indefinite lengths when streamed).
    public internal(set) var body: DeliveredBody
    public let contentType: String
    /// Of the plaintext.
    public let sha256: String
    let unit: String
    /// Whether the payload is stored encrypted, and so delivered as CMS.
    public let encrypted: Bool
    /// Whether it goes as `SealedFrames` rather than one envelope.
    public var framed = false
}
