import Foundation
public import LiaisonCore
import LiaisonCrypto
import LiaisonStore

extension Hub {
    /// Validates a push against the policy, encrypts it if its level says so, and stores it durably.
    public func push(_ sent: PushRequest, by pusher: Principal) async throws -> PushReceipt {
        let (request, level) = try await traced(pusher.id, "pushItem", unit: sent.unit) {
            let request = try unsealed(sent)
            let level = try validate(request)
            try await checkAnswers(request, by: pusher)
            return (request, level)
        }
        let now = clock()
        let ring = cipher  // before the store is read (see withDataKey)
        let id = ids.next(at: now)
        let sha256 = Digest.sha256Hex(request.payload)
        var item = Item(id: id, kind: request.kind, title: request.title, unit: request.unit, persons: request.persons, tags: request.tags,
                        classification: level, owner: pusher.agency.id, pushedBy: pusher.id, contentType: request.contentType,
                        sha256: sha256, size: request.payload.count, createdAt: now)
        item.answers = request.answers
        let claim = request.idempotencyKey.map { key in
            IdempotencyClaim(principal: pusher.id, key: key, fingerprint: fingerprint(of: request, payloadSHA256: sha256))
        }
        // The trail entry commits in the same transaction as the item; it names neither title nor payload. It records what
        // an auditor cross-checks the stored item with (`liaison audit items`); not the digest of a payload kept encrypted,
        // which would let a reader of the trail confirm a guessed plaintext.
        var detail = ["classification": level.rawValue, "kind": item.kind, "size": String(item.size), "owner": item.owner]
        if policy.levels[level]?.payloadAtRest != .encrypted { detail["sha256"] = sha256 }
        let audit = AuditRecord(time: now, actor: pusher.id, action: "pushItem", targets: [id], unit: item.unit, outcome: "ok", detail: detail)
        let events = pushEvents(item, by: pusher)
        let outcome: InsertOutcome
        if policy.levels[level]?.payloadAtRest == .encrypted {
            // Sealed and stored while the key version is counted as in use, so rotation cannot retire it under this write.
            outcome = try await keys.sealing { cipher in
                // Title, persons and tags would reveal content: they are sealed with the payload, under its data key.
                let metadata = try JSONEncoder().encode(ContentMetadata(title: item.title, persons: item.persons, tags: item.tags))
                let sealed = try cipher.seal(request.payload, metadata: Array(metadata), binding: binding(of: item))
                let key = sealed.payload.wrappedKey
                var kept = item.with(title: "", persons: [], tags: [],
                                     sealedMetadata: SealedMetadata(ciphertext: sealed.metadata ?? [], wrappedKey: key.sealed, keyVersion: key.version))
                kept.seal = keys.ring.itemSeal(kept.sealInput())
                return try await store.insert(kept, payload: StoredPayload(bytes: sealed.payload.ciphertext, wrappedKey: key.sealed, keyVersion: key.version),
                                              claim: claim, audit: audit, events: events)
            }
        } else {
            item.seal = keys.ring.itemSeal(item.sealInput())
            outcome = try await store.insert(item, payload: StoredPayload(bytes: request.payload, wrappedKey: nil, keyVersion: nil), claim: claim, audit: audit,
                                             events: events)
        }
        switch outcome {
        case .created:
            feedWaiters.notify(events.map(\.principal))
            return PushReceipt(item: VisibleItem(item: item, access: .read), replayed: false)
        case .replayed(let first):
            return PushReceipt(item: VisibleItem(item: try opened(first, ring), access: .read), replayed: true)
        case .conflict(let existingID):
            var error = HubError(.conflict, code: "idempotency_conflict",
                           message: "the Idempotency-Key '\(request.idempotencyKey ?? "")' was already used for item \(existingID) with a different body",
                           hint: "Use a new key for a new item; reuse a key only to retry exactly the same push")
            error.recorded = true  // the store wrote the refusal with the conflict
            throw error
        }
    }

    /// The item with its sealed title, persons and tags opened, once its seal shows the row is as pushed; an
    /// integrity error otherwise. `cipher` is the key ring as it was before the item was read (see `withDataKey`).
    func opened(_ item: Item, _ cipher: PayloadCipher) throws -> Item {
        try checkSeal(item)
        guard let sealed = item.sealedMetadata else { return item }
        do {
            let bytes = try withDataKey(cipher) {
                try $0.openMetadata(sealed.ciphertext, wrappedKey: WrappedKey(version: sealed.keyVersion, sealed: sealed.wrappedKey), binding: binding(of: item))
            }
            let content = try JSONDecoder().decode(ContentMetadata.self, from: Data(bytes))
            return item.with(title: content.title, persons: content.persons, tags: content.tags, sealedMetadata: nil)
        } catch {
            logger.critical("stored metadata failed authentication", metadata: ["item": "\(item.id)", "error": "\(error)"])
            throw HubError.damaged(item.id)
        }
    }

    /// What a reader is shown of an item: opened when readable, a stub otherwise; marked damaged, and never
    /// opened, when its row is not as pushed (a stub's level and owner come from the row too).
    func shown(_ item: Item, as access: AccessDecision.Access, _ cipher: PayloadCipher) -> VisibleItem {
        do {
            if access == .read { return VisibleItem(item: try opened(item, cipher), access: .read) }
            try checkSeal(item)
            return VisibleItem(item: item, access: access)
        } catch {
            return VisibleItem(item: item, access: access, damaged: true)
        }
    }

    /// Whether the stored row is the one pushed: its seal binds every field (`Item.sealInput`), so an edit of the
    /// title, level, owner, unit or digest in the database is caught here, before anything of it is shown.
    func checkSeal(_ item: Item) throws {
        guard let seal = item.seal, HMACSHA256.equal(seal, keys.ring.itemSeal(item.sealInput())) else {
            logger.critical("a stored item does not match its seal", metadata: ["item": "\(item.id)"])
            throw HubError.damaged(item.id)
        }
    }

    /// Runs `body` with `cipher`, a snapshot of the ring taken before the row was read, which holds every
    /// version the row could have been wrapped under then (a version is retired only once no row uses it).
    /// If a rewrap moved the row to a version added after the snapshot, the ring as it is now holds that one.
    func withDataKey<T>(_ cipher: PayloadCipher, _ body: (PayloadCipher) throws -> T) throws -> T {
        do {
            return try body(cipher)
        } catch CryptoError.unknownKeyVersion {
            return try body(self.cipher)
        }
    }

    func binding(of item: Item) -> PayloadBinding {
        PayloadBinding(itemID: item.id, owner: item.owner, level: item.classification.rawValue)
    }

    /// The request with a payload sealed to the hub (hub-blind intake) opened; the plaintext stays in memory.
    func unsealed(_ request: PushRequest) throws -> PushRequest {
        switch request.contentEncoding {
        case nil, "identity":
            return request
        case "cms":
            guard let identity else {
                throw HubError.invalidField("content_encoding", "this hub has no key to open sealed payloads", hint: "Push the payload unsealed (content_encoding identity)")
            }
            var opened = request
            do {
                opened.payload = try CMSEnvelope.open(request.payload, key: identity.key, certificate: identity.certificate)
            } catch {
                throw HubError(.invalid, code: "invalid_cms", message: "the payload is not a CMS envelope this hub can open: \(error)",
                               hint: "Seal it as AuthEnvelopedData (AES-256-GCM, DER) to the hub's certificate from GET /v1/hub/certificate, e.g. `openssl cms -encrypt -binary -aes-256-gcm -outform DER -recip hub.pem`, or use `liaison push --seal`",
                               field: "payload")
            }
            opened.contentEncoding = nil
            return opened
        case let other?:
            throw HubError.invalidField("content_encoding", "unknown content_encoding '\(other)'", hint: "Use identity (the default) or cms")
        }
    }

    /// A rectification names the feedback item it answers, one the pusher can see; no other kind names one.
    func checkAnswers(_ request: PushRequest, by pusher: Principal) async throws {
        guard request.kind == "rectification" else {
            if request.answers != nil {
                throw HubError.invalidField("answers", "only rectification items answer a feedback item", hint: "Drop answers, or push with kind rectification")
            }
            return
        }
        guard let answered = request.answers else {
            throw HubError.invalidField("answers", "a rectification names the feedback item it answers", hint: "Give the feedback item's id in answers (--answers ID)")
        }
        guard let feedback = try await store.item(id: answered), try await access(pusher, feedback) != .hidden else {
            throw HubError.invalidField("answers", "item \(answered) does not exist or is not visible to you", hint: "Give the id of a feedback item you can see")
        }
        guard feedback.kind == "feedback" else {
            throw HubError.invalidField("answers", "item \(answered) is a \(feedback.kind), not a feedback item", hint: "A rectification answers a feedback item")
        }
    }

    /// Everything that makes two pushes the same push, hashed.
    func fingerprint(of request: PushRequest, payloadSHA256: String) -> String {
        let fields = [request.kind, request.title, request.unit, request.classification, request.contentType, payloadSHA256, request.answers ?? "",
                      request.persons.joined(separator: "\u{1f}"), request.tags.joined(separator: "\u{1f}")]
        return Digest.sha256Hex(Array(fields.joined(separator: "\u{1e}").utf8))
    }

    /// Checks every field against the policy and the limits; the first problem is reported with its field.
    func validate(_ request: PushRequest) throws -> Classification {
        guard request.payload.count <= limits.payloadBytes else {
            throw HubError(.tooLarge, code: "payload_too_large",
                           message: "the payload is \(request.payload.count) bytes; this hub accepts at most \(limits.payloadBytes)",
                           hint: "Split the material into several items or ask the operator to raise --max-payload", field: "payload")
        }
        guard policy.kinds[request.kind] != nil else {
            throw HubError.invalidField("kind", "unknown kind '\(request.kind)'", hint: "Use a kind declared in the policy: \(policy.kinds.keys.sorted().joined(separator: ", "))")
        }
        guard Self.hasText(request.title) else { throw HubError.invalidField("title", "the title is empty", hint: "Give the item a title that says what it is") }
        try HubError.requireStorable(request.title, field: "title")
        guard Self.fits(request.title, limits.titleCharacters) else {
            throw HubError.invalidField("title", "the title has \(request.title.count) characters", hint: "Keep titles to \(limits.titleCharacters) characters; put the rest in the payload")
        }
        guard policy.units[request.unit] != nil else {
            throw HubError.invalidField("unit", "unknown unit '\(request.unit)'", hint: "Use a unit declared in the policy: \(policy.units.keys.sorted().joined(separator: ", "))")
        }
        guard let level = Classification(rawValue: request.classification) else {
            throw HubError.invalidField("classification", "unknown classification '\(request.classification)'", hint: "Use one of: \(Classification.names)")
        }
        try HubError.requireStorable(request.contentType, field: "content_type")
        let type = request.contentType.split(separator: "/")
        guard type.count == 2, !type[0].isEmpty, !type[1].isEmpty, !request.contentType.contains(where: { $0.isWhitespace || $0.isNewline }) else {
            throw HubError.invalidField("content_type", "'\(request.contentType)' is not a media type", hint: "Use a media type such as text/plain, application/pdf or application/octet-stream")
        }
        for (field, list) in [("persons", request.persons), ("tags", request.tags)] {
            guard list.count <= limits.listEntries else {
                throw HubError.invalidField(field, "\(field) has \(list.count) entries", hint: "Keep \(field) to \(limits.listEntries) entries")
            }
            guard list.allSatisfy({ Self.hasText($0) && Self.fits($0, 200) }) else {
                throw HubError.invalidField(field, "\(field) has an empty or over-long entry", hint: "Each entry of \(field) is a name of 1 to 200 characters")
            }
            for entry in list { try HubError.requireStorable(entry, field: field) }
        }
        if let key = request.idempotencyKey {
            guard !key.isEmpty, key.count <= 200, key.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value < 0x7f }) else {
                throw HubError.invalidField("Idempotency-Key", "the Idempotency-Key header must be 1 to 200 visible ASCII characters",
                                            hint: "Use a UUID or a similar token that you keep for retries")
            }
        }
        return level
    }

    /// Whether the text has a character that is not white space (stops at the first one).
    static func hasText(_ text: String) -> Bool {
        text.unicodeScalars.contains { !$0.properties.isWhitespace }
    }

    /// Whether the text has at most `characters` characters; counting graphemes only when the byte count leaves doubt.
    static func fits(_ text: String, _ characters: Int) -> Bool {
        text.utf8.count <= characters || text.count <= characters
    }
}

/// The fields of an item that would reveal its content, as sealed for encrypted levels.
struct ContentMetadata: Codable {
    let title: String
    let persons: [String]
    let tags: [String]
}
