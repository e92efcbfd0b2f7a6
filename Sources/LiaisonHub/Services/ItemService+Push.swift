import Foundation
import LiaisonCore
import LiaisonCrypto
import LiaisonStore

/// Pushes: validated against the policy, encrypted when the level says so, stored durably with their trail entry.
extension ItemService {
    public func push(_ sent: PushRequest, in context: HubContext) async throws -> PushReceipt {
        let (request, level) = try await admitted(sent, in: context)
        let now = context.now
        let ring = vault.cipher  // before the store is read (see withDataKey)
        let item = newItem(request, level: level, id: ids.next(at: now), sha256: Digest.sha256Hex(request.payload), size: request.payload.count, in: context)
        let written: PushWrite
        if context.policy.levels[level]?.payloadAtRest == .encrypted {
            // Sealed and stored while the key version is counted as in use, so rotation cannot retire it under this write.
            written = try await sealedInsert { cipher in
                let (kept, payload) = try vault.encrypted(item, payload: request.payload, with: cipher)
                return try await insertPushed(item, kept: kept, payload: payload, request: request, in: context)
            }
        } else {
            written = try await insertPushed(item, kept: vault.sealed(item), payload: StoredPayload(bytes: request.payload, wrappedKey: nil, keyVersion: nil),
                                             request: request, in: context)
        }
        return try receipt(written, item: item, request: request, ring)
    }

    /// The request checked before anything of it is stored: opened if sealed to the hub, every field valid under the
    /// policy, the feedback it answers visible; a refusal is in the trail.
    func admitted(_ sent: PushRequest, in context: HubContext) async throws -> (PushRequest, Classification) {
        try await context.traced(.pushItem, unit: sent.unit) {
            let request = try unsealed(sent)
            let level = try validate(request, under: context.policy)
            try await checkAnswers(request, in: context)
            return (request, level)
        }
    }

    func newItem(_ request: PushRequest, level: Classification, id: String, sha256: String, size: Int, in context: HubContext) -> Item {
        let pusher = context.principal
        var item = Item(id: id, kind: request.kind, title: request.title, unit: request.unit, persons: request.persons, tags: request.tags,
                        classification: level, owner: pusher.agency.id, pushedBy: pusher.id, contentType: request.contentType,
                        sha256: sha256, size: size, createdAt: context.now)
        item.answers = request.answers
        return item
    }

    /// What storing a push wrote, and whom it concerns.
    struct PushWrite: Sendable {
        let outcome: InsertOutcome
        let readers: FeedAudience
        let watch: AlertWatch?
    }

    /// Stores `kept` (the item as kept: sealed, its content metadata encrypted where the level says so) with its
    /// payload, its trail entry, its feed event, its blind-index marks and the alerts it raises, in one transaction.
    func insertPushed(_ item: Item, kept: Item, payload: StoredPayload, request: PushRequest, in context: HubContext) async throws -> PushWrite {
        let policy = context.policy
        let pusher = context.principal
        let claim = request.idempotencyKey.map { key in
            IdempotencyClaim(principal: pusher.id, key: key, fingerprint: fingerprint(of: request, payloadSHA256: item.sha256))
        }
        // The trail entry commits in the same transaction as the item; it names neither title nor payload. It records what
        // an auditor cross-checks the stored item with (`liaison audit items`); not the digest of a payload kept encrypted,
        // which would let a reader of the trail confirm a guessed plaintext.
        var detail = ["classification": item.classification.rawValue, "kind": item.kind, "size": String(item.size), "owner": item.owner]
        if payload.wrappedKey == nil { detail["sha256"] = item.sha256 }
        let audit = AuditRecord(time: item.createdAt, actor: pusher.id, action: .pushItem, targets: [item.id], unit: item.unit, detail: detail)
        let (events, readers) = pushEvents(item, by: pusher, under: policy)
        let watch = alertWatch(for: item, under: policy)
        let outcome = try await store.insert(kept, payload: payload, claim: claim, audit: audit, events: events, marks: vault.marks(of: item), watch: watch)
        return PushWrite(outcome: outcome, readers: readers, watch: watch)
    }

    /// The answer to a push once stored: readers and alerted principals woken; a replay answered with the first item.
    func receipt(_ written: PushWrite, item: Item, request: PushRequest, _ ring: PayloadCipher) throws -> PushReceipt {
        switch written.outcome {
        case .created:
            let raised = written.watch?.raised ?? []
            feedWaiters.notify(written.readers)
            if !raised.isEmpty { feedWaiters.notify(raised.flatMap { $0.alert.notified }) }
            for alert in raised {
                logger.notice("risk alert raised", metadata: ["alert": "\(alert.alert.id)", "rule": "\(alert.alert.rule)", "items": "\(alert.alert.itemIDs.count)"])
            }
            return PushReceipt(item: VisibleItem(item: item, access: .read), replayed: false)
        case .replayed(let first):
            return PushReceipt(item: VisibleItem(item: try vault.opened(first, ring), access: .read), replayed: true)
        case .conflict(let existingID):
            var error = HubError(.conflict, code: "idempotency_conflict",
                                 message: "the Idempotency-Key '\(request.idempotencyKey ?? "")' was already used for item \(existingID) with a different body",
                                 hint: "Use a new key for a new item; reuse a key only to retry exactly the same push")
            error.recorded = true  // the store wrote the refusal with the conflict
            throw error
        }
    }

    /// Runs `write` sealing under the ring as it is now. A shared ring may have dropped that version on another
    /// hub meanwhile: then nothing was written, and the write runs again under the ring as kept now.
    func sealedInsert<T>(_ write: (PayloadCipher) async throws -> T) async throws -> T {
        for _ in 0..<2 {
            do {
                return try await vault.keys.sealing(write)
            } catch StoreError.retiredKeyVersion {
                try await vault.keys.refresh()
            }
        }
        return try await vault.keys.sealing(write)
    }

    /// The "item readable" event of a push, stored once for every reader (`FeedEvent.everyReader`), and the
    /// principals it is for: everyone but the pusher whom the policy lets read the new item.
    func pushEvents(_ item: Item, by pusher: Principal, under policy: Policy) -> (events: [FeedEvent], readers: FeedAudience) {
        let readers = FeedAudience(readers: policy.readers(of: item.subject, at: item.createdAt), except: pusher.id)
        guard !readers.isEmpty else { return ([], .nobody) }
        var detail = FeedEvent.stub(item, via: "push")
        detail[FeedEvent.pusherKey] = pusher.id
        return ([FeedEvent(principal: FeedEvent.everyReader, kind: .itemReadable, time: item.createdAt, item: item.id, detail: detail)], readers)
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
    func checkAnswers(_ request: PushRequest, in context: HubContext) async throws {
        guard request.kind == "rectification" else {
            if request.answers != nil {
                throw HubError.invalidField("answers", "only rectification items answer a feedback item", hint: "Drop answers, or push with kind rectification")
            }
            return
        }
        guard let answered = request.answers else {
            throw HubError.invalidField("answers", "a rectification names the feedback item it answers", hint: "Give the feedback item's id in answers (--answers ID)")
        }
        guard let feedback = try await store.item(id: answered), try await access.access(to: feedback, in: context) != .hidden else {
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
    func validate(_ request: PushRequest, under policy: Policy) throws -> Classification {
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
        try HubError.requireUnit(request.unit, in: policy)
        guard let level = Classification(rawValue: request.classification) else {
            throw HubError.invalidField("classification", "unknown classification '\(request.classification)'", hint: "Use one of: \(Classification.names)")
        }
        try HubError.requireStorable(request.contentType, field: "content_type")
        // Exactly one `/` between two non-empty parts (`text//plain` and `/plain` are not media types), and no white space
        // or line break anywhere, even inside a grapheme.
        let type = request.contentType.split(separator: "/", omittingEmptySubsequences: false)
        guard type.count == 2, !type[0].isEmpty, !type[1].isEmpty, !request.contentType.unicodeScalars.contains(where: \.properties.isWhitespace) else {
            throw HubError.invalidField("content_type", "'\(request.contentType)' is not a media type", hint: "Use a media type such as text/plain, application/pdf or application/octet-stream")
        }
        for (field, list) in [("persons", request.persons), ("tags", request.tags)] {
            guard list.count <= limits.listEntries else {
                throw HubError.invalidField(field, "\(field) has \(list.count) entries", hint: "Keep \(field) to \(limits.listEntries) entries")
            }
            guard list.allSatisfy({ Self.hasText($0) && Self.fits($0, Self.nameCharacters) }) else {
                throw HubError.invalidField(field, "\(field) has an empty or over-long entry", hint: "Each entry of \(field) is a name of 1 to \(Self.nameCharacters) characters")
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

    /// The longest person or tag (openapi.yaml says the same).
    static let nameCharacters = 200

    /// Whether the text has at most `characters` characters; counting graphemes only when the byte count leaves doubt.
    static func fits(_ text: String, _ characters: Int) -> Bool {
        text.utf8.count <= characters || text.count <= characters
    }
}
