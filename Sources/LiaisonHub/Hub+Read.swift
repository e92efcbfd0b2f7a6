import Foundation
public import LiaisonCore
import LiaisonCrypto
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
        // Hidden items are skipped, so a page may need several reads; the scan is bounded so one request stays cheap.
        for _ in 0..<8 {
            let batch = try await store.items(matching: query)
            for item in batch {
                let access = access(reader, item)
                guard access != .hidden else { continue }
                visible.append(VisibleItem(item: access == .read ? try opened(item) : item, access: access))
                if visible.count == request.limit { return ItemPage(items: visible, nextCursor: item.id) }
            }
            guard batch.count == query.limit, let last = batch.last else { return ItemPage(items: visible, nextCursor: nil) }
            query.before = last.id
            query.limit = max(query.limit, 200)
        }
        return ItemPage(items: visible, nextCursor: query.before)
    }

    /// The item's metadata, or its withheld stub; 404 if the reader may not know it exists.
    public func item(id: String, by reader: Principal) async throws -> VisibleItem {
        try await traced(reader.id, "getItem", targets: [id]) {
            let visible = try await visibleItem(id: id, by: reader)
            try await record(reader.id, "getItem", targets: [id], unit: visible.item.unit, outcome: visible.isWithheld ? "withheld" : "ok")
            return visible
        }
    }

    func visibleItem(id: String, by reader: Principal) async throws -> VisibleItem {
        guard let item = try await store.item(id: id) else { throw HubError.itemNotFound(id) }
        let access = access(reader, item)
        guard access != .hidden else { throw HubError.itemNotFound(id) }
        return VisibleItem(item: access == .read ? try opened(item) : item, access: access)
    }

    /// The exact bytes pushed, if the reader may read them.
    public func payload(id: String, by reader: Principal) async throws -> DeliveredPayload {
        try await traced(reader.id, "getItemPayload", targets: [id]) {
            let delivered = try await openPayload(id: id, by: reader)
            try await record(reader.id, "getItemPayload", targets: [id], unit: delivered.unit)
            return delivered
        }
    }

    func openPayload(id: String, by reader: Principal) async throws -> DeliveredPayload {
        let visible = try await visibleItem(id: id, by: reader)
        guard visible.access == .read else {
            throw HubError(.forbidden, code: "forbidden", message: "you may not read the payload of item \(id)",
                           hint: "Ask for access with an access request; its owner's approvers decide")
        }
        let item = visible.item
        guard let stored = try await store.payload(id: id) else {
            logger.error("item has no stored payload", metadata: ["item": "\(id)"])
            throw HubError(.integrity, code: "integrity", message: "the payload of item \(id) is missing", hint: "Report this to the hub's operator")
        }
        let bytes: [UInt8]
        if let wrapped = stored.wrappedKey, let version = stored.keyVersion {
            do {
                bytes = try cipher.open(SealedPayload(wrappedKey: WrappedKey(version: version, sealed: wrapped), ciphertext: stored.bytes),
                                        binding: binding(of: item))
            } catch {
                logger.critical("stored ciphertext failed authentication", metadata: ["item": "\(id)", "error": "\(error)"])
                throw HubError(.integrity, code: "integrity", message: "the stored payload of item \(id) failed its integrity check",
                               hint: "Report this to the hub's operator; the item's stored data was altered or damaged")
            }
        } else {
            bytes = stored.bytes
        }
        return DeliveredPayload(bytes: bytes, contentType: item.contentType, sha256: item.sha256, unit: item.unit)
    }
}
