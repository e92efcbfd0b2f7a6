import Foundation
public import LiaisonCore
public import LiaisonCrypto
import LiaisonStore

/// Filters for `Hub.list`, as the caller gave them (still text, validated here).
public struct ListRequest: Sendable {
    public var unit: String?
    public var kind: String?
    public var classification: String?
    public var owner: String?
    public var cursor: String?
    public var limit: Int

    public init(unit: String? = nil, kind: String? = nil, classification: String? = nil, owner: String? = nil, cursor: String? = nil, limit: Int = 100) {
        self.unit = unit
        self.kind = kind
        self.classification = classification
        self.owner = owner
        self.cursor = cursor
        self.limit = limit
    }
}

extension Hub {
    /// Items the reader may read, and withheld stubs of those the policy lets it know about; newest first.
    public func list(_ request: ListRequest, by reader: Principal) async throws -> ItemPage {
        try await traced(reader.id, "listItems", unit: request.unit) {
            let page = try await listPage(request, by: reader)
            var detail = ["count": String(page.items.count), "withheld": String(page.items.filter(\.isWithheld).count)]
            for (name, value) in [("kind", request.kind), ("classification", request.classification), ("owner", request.owner), ("cursor", request.cursor)] {
                if let value { detail[name] = value }
            }
            try await record(reader.id, "listItems", targets: page.items.map(\.item.id), unit: request.unit, detail: detail)
            return page
        }
    }

    func listPage(_ request: ListRequest, by reader: Principal) async throws -> ItemPage {
        var level: Classification?
        if let text = request.classification {
            guard let parsed = Classification(rawValue: text) else {
                throw HubError.invalidField("classification", "unknown classification '\(text)'", hint: "Use one of: \(Classification.names)")
            }
            level = parsed
        }
        guard (1...limits.pageSize).contains(request.limit) else {
            throw HubError.invalidField("limit", "limit must be between 1 and \(limits.pageSize)", hint: "Page through with next_cursor instead")
        }
        var query = ItemQuery(unit: request.unit, kind: request.kind, classification: level, owner: request.owner, before: request.cursor,
                              limit: request.limit)
        var visible: [VisibleItem] = []
        let cipher = self.cipher
        let now = clock()
        // One read of the reader's live grants and held leads serves the whole page.
        let accessNow = try await readerAccess(reader, at: now)
        // Hidden items are skipped, so a page may need several reads; the scan is bounded so one request stays cheap.
        for _ in 0..<8 {
            let batch = try await store.items(matching: query)
            for item in batch {
                let access = accessNow.of(item)
                guard access != .hidden else { continue }
                visible.append(shown(item, as: access, cipher))
                if visible.count == request.limit { return ItemPage(items: visible, nextCursor: item.id) }
            }
            guard batch.count == query.limit, let last = batch.last else { return ItemPage(items: visible, nextCursor: nil) }
            query.before = last.id
            query.limit = max(query.limit, 200)
        }
        return ItemPage(items: visible, nextCursor: query.before)
    }

    /// What `reader` may see of many items at `now`: its agency's grants and held leads are read once here.
    func readerAccess(_ reader: Principal, at now: Date) async throws -> ReaderAccess {
        let agency = reader.agency.id
        return ReaderAccess(policy: policy, reader: reader, now: now,
                            beyondPolicy: try await store.grantedItems(agency: agency, at: now).union(try await store.leadsHeld(by: agency)))
    }

    /// The item's metadata, or its withheld stub; 404 if the reader may not know it exists.
    public func item(id: String, by reader: Principal) async throws -> VisibleItem {
        try await traced(reader.id, "getItem", targets: [id]) {
            let visible = try await visibleItem(id: id, by: reader)
            try await record(reader.id, "getItem", targets: [id], unit: visible.item.unit, outcome: visible.isWithheld ? "withheld" : "ok")
            return visible
        }
    }

    /// `openingMetadata: false` leaves a confidential item's title, persons and tags sealed, for callers that do not show them.
    func visibleItem(id: String, by reader: Principal, openingMetadata: Bool = true) async throws -> VisibleItem {
        let cipher = self.cipher
        guard let item = try await store.item(id: id) else { throw HubError.itemNotFound(id) }
        let access = try await access(reader, item)
        guard access != .hidden else { throw HubError.itemNotFound(id) }
        return VisibleItem(item: access == .read && openingMetadata ? try opened(item, cipher) : item, access: access)
    }

    /// The exact bytes pushed, if the reader may read them. A payload stored encrypted is opened in memory
    /// and sealed again as CMS to `certificate`, the one the reader presented: plaintext never leaves the hub.
    /// `accepts` says whether the reader takes the payload plain (false) or sealed (true); it is asked
    /// before the read is recorded, so a payload the reader would refuse is neither delivered nor traced as read.
    public func payload(id: String, by reader: Principal, presenting certificate: X509Certificate?,
                        accepts: (_ sealed: Bool) -> Bool = { _ in true }) async throws -> DeliveredPayload {
        try await traced(reader.id, "getItemPayload", targets: [id]) {
            var delivered = try await openPayload(id: id, by: reader)
            guard accepts(delivered.encrypted) else {
                let type = delivered.encrypted ? "application/pkcs7-mime (CMS sealed to your certificate)" : "application/octet-stream"
                throw HubError(.notAcceptable, code: "not_acceptable", message: "item \(id) is delivered as \(type), which your Accept header excludes",
                               hint: "Accept application/octet-stream and application/pkcs7-mime (or */*), or leave the Accept header out")
            }
            if delivered.encrypted {
                delivered = try sealForReader(delivered, id: id, certificate: certificate)
            }
            try await record(reader.id, "getItemPayload", targets: [id], unit: delivered.unit,
                             detail: delivered.encrypted ? ["delivery": "cms"] : [:])
            return delivered
        }
    }

    func sealForReader(_ payload: DeliveredPayload, id: String, certificate: X509Certificate?) throws -> DeliveredPayload {
        let hint = "Present a certificate with an \(CMSEnvelope.addressableKeyTypes) key; ask the hub's CA for one"
        guard let certificate else {
            throw HubError(.notAcceptable, code: "unaddressable_key", message: "item \(id) is delivered only sealed to the reader's certificate, and none was presented", hint: hint)
        }
        let keyType = certificate.keyType
        guard keyType.isAddressable else {
            throw HubError(.notAcceptable, code: "unaddressable_key",
                           message: "item \(id) is delivered sealed to your certificate, and a CMS envelope cannot be addressed to its \(keyType) key", hint: hint)
        }
        return DeliveredPayload(bytes: try CMSEnvelope.seal(payload.bytes, to: certificate), contentType: payload.contentType, sha256: payload.sha256,
                                unit: payload.unit, encrypted: true)
    }

    /// The payload in plaintext, for the hub's own use (delivery seals it again when it was stored encrypted).
    func openPayload(id: String, by reader: Principal) async throws -> DeliveredPayload {
        let cipher = self.cipher
        // Delivery needs the content type, digest and unit, none of them sealed: the title stays sealed.
        let visible = try await visibleItem(id: id, by: reader, openingMetadata: false)
        guard visible.access == .read else {
            throw HubError(.forbidden, code: "forbidden", message: "you may not read the payload of item \(id)",
                           hint: "Ask for access with an access request; its owner's approvers decide")
        }
        let item = visible.item
        try checkSeal(item)
        guard let stored = try await store.payload(id: id) else {
            logger.error("item has no stored payload", metadata: ["item": "\(id)"])
            throw HubError(.integrity, code: "integrity", message: "the payload of item \(id) is missing", hint: "Report this to the hub's operator")
        }
        let bytes: [UInt8]
        if let wrapped = stored.wrappedKey, let version = stored.keyVersion {
            do {
                bytes = try withDataKey(cipher) {
                    try $0.open(SealedPayload(wrappedKey: WrappedKey(version: version, sealed: wrapped), ciphertext: stored.bytes), binding: binding(of: item))
                }
            } catch {
                logger.critical("stored ciphertext failed authentication", metadata: ["item": "\(id)", "error": "\(error)"])
                throw HubError.damaged(id)
            }
        } else {
            // A plain payload is bound to its item through the sealed digest.
            guard Digest.sha256Hex(stored.bytes) == item.sha256 else {
                logger.critical("a stored payload does not match its item's digest", metadata: ["item": "\(id)"])
                throw HubError.damaged(id)
            }
            bytes = stored.bytes
        }
        return DeliveredPayload(bytes: bytes, contentType: item.contentType, sha256: item.sha256, unit: item.unit, encrypted: stored.wrappedKey != nil)
    }
}
