import Foundation
public import LiaisonCore
public import LiaisonCrypto
import LiaisonStore
import Logging

/// Filters for `ItemService.list`, as the caller gave them (still text, validated here).
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

/// Pushing, listing and reading items, and explaining who may read them.
public struct ItemService: Sendable {
    let store: any ItemStore & PayloadChunkStore
    let grants: any GrantStore
    let access: AccessResolver
    let vault: ItemVault
    let ids: ItemIDGenerator
    let feedWaiters: FeedWaiters
    let limits: HubLimits
    /// The hub's key and certificate, which open payloads sealed to the hub (hub-blind intake); nil in a hub without.
    let identity: HubIdentity?
    let logger: Logger
    /// The rows of items read lately, in front of `store` for reads of one item.
    let rows: ItemRowCache
    /// What large payloads being sent may hold (`HubLimits.answerBudget`).
    let answers: ByteBudget

    /// Items the reader may read, and withheld stubs of those the policy lets it know about; newest first.
    public func list(_ request: ListRequest, in context: HubContext) async throws -> ItemPage {
        try await context.traced(.listItems, unit: request.unit) {
            let page = try await listPage(request, in: context)
            var detail = ["count": String(page.items.count), "withheld": String(page.items.filter(\.isWithheld).count)]
            for (name, value) in [("kind", request.kind), ("classification", request.classification), ("owner", request.owner), ("cursor", request.cursor)] {
                if let value { detail[name] = value }
            }
            try await context.record(.listItems, targets: page.items.map(\.item.id), unit: request.unit, detail: detail)
            return page
        }
    }

    func listPage(_ request: ListRequest, in context: HubContext) async throws -> ItemPage {
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
        let cipher = vault.cipher
        // Hidden items are skipped, so a page may need several reads; the scan is bounded so one request stays cheap.
        for _ in 0..<8 {
            let batch = try await store.items(matching: query)
            let accessNow = try await access.readerAccess(to: batch, in: context)
            for item in batch {
                let access = accessNow.of(item)
                guard access != .hidden else { continue }
                // A row equal to one kept has passed its seal check; one that passes it here is kept (`ItemRowCache`).
                let kept = rows.item(id: item.id) == item
                let shown = vault.shown(item, as: access, cipher, sealChecked: kept)
                if !kept, !shown.damaged { rows.keep(checked: item) }
                visible.append(shown)
                if visible.count == request.limit { return ItemPage(items: visible, nextCursor: item.id) }
            }
            guard batch.count == query.limit, let last = batch.last else { return ItemPage(items: visible, nextCursor: nil) }
            query.before = last.id
            query.limit = max(query.limit, 200)
        }
        return ItemPage(items: visible, nextCursor: query.before)
    }

    /// The item's metadata, or its withheld stub; 404 if the reader may not know it exists.
    public func item(id: String, in context: HubContext) async throws -> VisibleItem {
        try await context.traced(.getItem, targets: [id]) {
            let visible = try await visibleItem(id: id, in: context)
            try await context.record(.getItem, targets: [id], unit: visible.item.unit, outcome: visible.isWithheld ? "withheld" : "ok")
            return visible
        }
    }

    /// The item as `item(id:in:)` shows it, untraced; a readable item only once its seal is checked (an integrity
    /// error otherwise). `openingMetadata: false` leaves a confidential item's title, persons and tags sealed, for
    /// callers that do not show them.
    func visibleItem(id: String, in context: HubContext, openingMetadata: Bool = true) async throws -> VisibleItem {
        let cipher = vault.cipher
        let kept = rows.item(id: id)
        var read: Item?
        if kept == nil { read = try await store.item(id: id) }
        guard let item = kept ?? read else { throw HubError.itemNotFound(id) }
        let access = try await access.access(to: item, in: context)
        guard access != .hidden else { throw HubError.itemNotFound(id) }
        guard access == .read else { return VisibleItem(item: item, access: access) }
        if kept == nil {
            try vault.checkSeal(item)
            rows.keep(checked: item)
        }
        return VisibleItem(item: openingMetadata ? try vault.openedMetadata(of: item, cipher) : item, access: .read)
    }

    /// The exact bytes pushed, if the reader may read them. A payload stored encrypted is opened in memory
    /// and sealed again as CMS to `certificate`, the one the reader presented: plaintext never leaves the hub.
    /// `accepts` says whether the reader takes the payload plain (false) or sealed (true); it is asked
    /// before the read is recorded, so a payload the reader would refuse is neither delivered nor traced as read.
    /// `framed`: a payload kept in chunks and sealed for the reader goes as `SealedFrames` (the reader asked for them).
    public func payload(id: String, in context: HubContext, presenting certificate: X509Certificate?, framed: Bool = false,
                        accepts: (_ sealed: Bool) -> Bool = { _ in true }) async throws -> DeliveredPayload {
        try await context.traced(.getItemPayload, targets: [id]) {
            var delivered = try await openPayload(id: id, in: context)
            guard accepts(delivered.encrypted) else {
                let type = delivered.encrypted ? "application/pkcs7-mime (CMS sealed to your certificate)" : "application/octet-stream"
                throw HubError(.notAcceptable, code: "not_acceptable", message: "item \(id) is delivered as \(type), which your Accept header excludes",
                               hint: "Accept application/octet-stream and application/pkcs7-mime (or */*), or leave the Accept header out")
            }
            if delivered.encrypted {
                delivered = try sealForReader(delivered, id: id, certificate: certificate, framed: framed)
            }
            delivered.body = try delivered.body.held(in: answers, for: context.principal.id)
            try await context.record(.getItemPayload, targets: [id], unit: delivered.unit, detail: delivered.encrypted ? ["delivery": "cms"] : [:])
            return delivered
        }
    }

    func sealForReader(_ payload: DeliveredPayload, id: String, certificate: X509Certificate?, framed: Bool) throws -> DeliveredPayload {
        let certificate = try Self.addressable(certificate, sealing: "item \(id)")
        let sealed: DeliveredBody
        switch payload.body {
        case .whole(let bytes): sealed = .whole(try CMSEnvelope.seal(bytes, to: certificate))
        case .streamed(let stream) where framed: sealed = .streamed(stream.framed(to: certificate, itemID: id))
        case .streamed(let stream): sealed = .streamed(try stream.sealed(to: certificate))
        }
        return DeliveredPayload(body: sealed, contentType: payload.contentType, sha256: payload.sha256, unit: payload.unit, encrypted: true,
                                framed: framed && sealed.whole == nil)
    }

    /// The reader's certificate, if a CMS envelope can be addressed to it; what is to be sealed (`what`) is named otherwise.
    static func addressable(_ certificate: X509Certificate?, sealing what: String) throws -> X509Certificate {
        let hint = "Present a certificate with an \(CMSEnvelope.addressableKeyTypes) key; ask the hub's CA for one"
        guard let certificate else {
            throw HubError(.notAcceptable, code: "unaddressable_key", message: "\(what) is delivered only sealed to the reader's certificate, and none was presented", hint: hint)
        }
        let keyType = certificate.keyType
        guard keyType.isAddressable else {
            throw HubError(.notAcceptable, code: "unaddressable_key",
                           message: "\(what) is delivered sealed to your certificate, and a CMS envelope cannot be addressed to its \(keyType) key", hint: hint)
        }
        return certificate
    }

    /// The payload in plaintext, for the hub's own use (delivery seals it again when it was stored encrypted).
    func openPayload(id: String, in context: HubContext) async throws -> DeliveredPayload {
        let cipher = vault.cipher
        // Delivery needs the content type, digest and unit, none of them sealed: the title stays sealed.
        let visible = try await visibleItem(id: id, in: context, openingMetadata: false)
        guard visible.access == .read else {
            throw HubError(.forbidden, code: "forbidden", message: "you may not read the payload of item \(id)",
                           hint: "Ask for access with an access request; its owner's approvers decide")
        }
        let item = visible.item
        if let kept = rows.payload(of: id) {
            return DeliveredPayload(body: .whole(kept), contentType: item.contentType, sha256: item.sha256, unit: item.unit, encrypted: false)
        }
        guard let stored = try await store.payload(id: id) else {
            logger.error("item has no stored payload", metadata: ["item": "\(id)"])
            throw HubError(.integrity, code: "integrity", message: "the payload of item \(id) is missing", hint: "Report this to the hub's operator")
        }
        let body: DeliveredBody
        if let chunks = stored.chunks {
            body = .streamed(try vault.plaintextStream(of: stored, chunks: chunks, for: item, from: store, cipher))
        } else {
            let plaintext = try vault.plaintext(of: stored, for: item, cipher)
            if stored.wrappedKey == nil { rows.keep(checkedPayload: plaintext, of: id) }
            body = .whole(plaintext)
        }
        return DeliveredPayload(body: body, contentType: item.contentType, sha256: item.sha256, unit: item.unit, encrypted: stored.wrappedKey != nil)
    }

    /// The decision and the rule behind it, for `liaison policy explain`. Someone may explain
    /// their own access; auditors and administrators may explain anyone's.
    public func explain(principal id: String, item itemID: String, in context: HubContext) async throws -> AccessDecision {
        try await context.traced(.explainAccess, targets: [itemID]) {
            let decision = try await decide(principal: id, item: itemID, in: context)
            try await context.record(.explainAccess, targets: [itemID], detail: ["principal": id, "access": decision.access.rawValue])
            return decision
        }
    }

    func decide(principal id: String, item itemID: String, in context: HubContext) async throws -> AccessDecision {
        let caller = context.principal
        guard id == caller.id || caller.roles.contains(.auditor) || caller.roles.contains(.administrator) else {
            throw HubError(.forbidden, code: "forbidden", message: "only auditors and administrators may explain another principal's access",
                           hint: "Explain your own access with --principal \(caller.id)")
        }
        guard let reader = context.policy.principal(id) else {
            throw HubError.invalidField("principal", "'\(id)' is not a principal declared in the policy", hint: "Use a principal id from the policy (`liaison policy check` lists them)")
        }
        guard let item = try await store.item(id: itemID), try await access.access(to: item, in: context) != .hidden else { throw HubError.itemNotFound(itemID) }
        let decision = context.policy.decide(for: reader, about: item.subject, at: context.now)
        guard decision.access != .read,
              let grant = try await grants.grants(matching: GrantQuery(agency: reader.agency.id, liveAt: context.now)).first(where: { $0.itemIDs.contains(itemID) }) else {
            return decision
        }
        return AccessDecision(access: .read, reason: "\(decision.reason); but grant \(grant.id) (request \(grant.requestID)) lets \(reader.agency.id) read it until \(ISO8601DateFormatter().string(from: grant.expiresAt))")
    }
}
