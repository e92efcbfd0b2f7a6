import Foundation
import LiaisonAPI
import LiaisonCore
import LiaisonHub
import OpenAPIRuntime

/// The generated API protocol, implemented by translating to and from the hub's use cases. No rules live here.
struct APIHandler: APIProtocol {
    let hub: Hub
    let metrics: HubMetrics?

    /// The request as the hub's services take it: its principal, policy snapshot and time.
    func context() throws -> HubContext {
        guard let context = RequestPrincipal.context else {
            throw HubError(.forbidden, code: "no_identity", message: "the request carries no client identity", hint: "Connect with a client certificate issued by the hub's CA")
        }
        return context
    }

    func healthz(_ input: Operations.Healthz.Input) async throws -> Operations.Healthz.Output {
        .ok(.init(body: .json(.init(status: "ok"))))
    }

    func whoami(_ input: Operations.Whoami.Input) async throws -> Operations.Whoami.Output {
        let principal = try context().principal
        return .ok(.init(body: .json(.init(principal: principal.id, name: principal.name, agency: principal.agency.id,
                                           agencyType: principal.agency.type.rawValue, roles: principal.roles.map(\.rawValue)))))
    }

    func pushItem(_ input: Operations.PushItem.Input) async throws -> Operations.PushItem.Output {
        let (item, created): (Components.Schemas.Item, Bool)
        switch input.body {
        case .json(let body):
            (item, created) = try await push(body, idempotencyKey: input.headers.idempotencyKey)
        case .binary(let payload):
            (item, created) = answer(to: try await hub.items.pushStreamed(try Self.streamedPush(input.headers), payload: payload, in: try context()))
        case .multipartForm:
            // `MultipartPush` reads every form before the generated layer would: that one collects a JSON part whole.
            throw MultipartPush.Form.malformed("it reached a reader that does not stream it")
        }
        return created ? .created(.init(body: .json(item))) : .ok(.init(body: .json(item)))
    }

    /// A push of a JSON body (the generated route and the hand-written one, `HandWrittenOperations`): the item as
    /// the wire shows it, and whether it was created (201) rather than a replay of an earlier push (200).
    func push(_ body: Components.Schemas.NewItem, idempotencyKey: String?) async throws -> (item: Components.Schemas.Item, created: Bool) {
        let context = try context()
        // Strict base64: Foundation's default decoding refuses anything that is not RFC 4648 base64.
        guard let payload = Data(base64Encoded: body.payload) else {
            throw HubError(.invalid, code: "invalid_field", message: "the field 'payload' is not valid base64",
                           hint: "Encode the payload bytes as standard base64 with padding (e.g. `base64 -w0 FILE`)", field: "payload")
        }
        var request = PushRequest(kind: body.kind, title: body.title, unit: body.unit, classification: body.classification.rawValue,
                                  contentType: body.contentType, payload: Array(payload), contentEncoding: body.contentEncoding?.rawValue,
                                  persons: body.persons ?? [], tags: body.tags ?? [], idempotencyKey: idempotencyKey)
        request.answers = body.answers
        return answer(to: try await hub.items.push(request, in: context))
    }

    /// A push's receipt as the wire shows it, counted in the metrics when it stored a new item.
    func answer(to receipt: PushReceipt) -> (item: Components.Schemas.Item, created: Bool) {
        if !receipt.replayed { metrics?.pushed(classification: receipt.item.item.classification.rawValue) }
        return (Self.schema(receipt.item), !receipt.replayed)
    }

    /// The item of a streamed push, from its `Liaison-*` headers (the generated layer has percent-decoded them).
    static func streamedPush(_ headers: Operations.PushItem.Input.Headers) throws -> PushRequest {
        func required(_ value: String?, _ name: String) throws -> String {
            guard let value else {
                throw HubError(.invalid, code: "missing_header", message: "a streamed push needs the header \(name)",
                               hint: "Send the item's kind, title, unit and classification in Liaison-Kind, Liaison-Title, Liaison-Unit and Liaison-Classification (percent-encoded UTF-8), the payload as the body",
                               field: name)
            }
            return value
        }
        var request = PushRequest(kind: try required(headers.liaisonKind, "Liaison-Kind"), title: try required(headers.liaisonTitle, "Liaison-Title"),
                                  unit: try required(headers.liaisonUnit, "Liaison-Unit"),
                                  classification: try required(headers.liaisonClassification, "Liaison-Classification"),
                                  contentType: headers.liaisonContentType ?? "application/octet-stream", payload: [],
                                  persons: headers.liaisonPersons ?? [], tags: headers.liaisonTags ?? [], idempotencyKey: headers.idempotencyKey)
        request.answers = headers.liaisonAnswers
        return request
    }

    func getHubCertificate(_ input: Operations.GetHubCertificate.Input) async throws -> Operations.GetHubCertificate.Output {
        _ = try context()
        guard let pem = hub.certificatePEM else {
            throw HubError(.notFound, code: "not_found", message: "this hub has no certificate to seal to", hint: "Push payloads unsealed")
        }
        return .ok(.init(body: .applicationXPemFile(HTTPBody(pem))))
    }

    func getKeyRing(_ input: Operations.GetKeyRing.Input) async throws -> Operations.GetKeyRing.Output {
        .ok(.init(body: .json(Self.schema(try await hub.keys.status(in: try context())))))
    }

    func rotateKeys(_ input: Operations.RotateKeys.Input) async throws -> Operations.RotateKeys.Output {
        .created(.init(body: .json(Self.schema(try await hub.keys.rotate(in: try context())))))
    }

    static func schema(_ status: KeyRingStatus) -> Components.Schemas.KeyRingStatus {
        .init(current: Int64(status.current), versions: status.versions.map {
            .init(version: Int64($0.version), createdAt: $0.createdAt, dataKeys: Int64($0.dataKeys))
        })
    }

    func listItems(_ input: Operations.ListItems.Input) async throws -> Operations.ListItems.Output {
        .ok(.init(body: .json(try await list(input.query))))
    }

    /// A page of the items the caller may see (the generated route and the hand-written one, `HandWrittenOperations`).
    func list(_ query: Operations.ListItems.Input.Query) async throws -> Components.Schemas.ItemPage {
        let page = try await hub.items.list(ListRequest(unit: query.unit, kind: query.kind, classification: query.classification?.rawValue, owner: query.owner,
                                                  cursor: query.cursor, limit: query.limit ?? 100), in: try context())
        return .init(items: page.items.map(Self.schema), nextCursor: page.nextCursor)
    }

    func getItem(_ input: Operations.GetItem.Input) async throws -> Operations.GetItem.Output {
        .ok(.init(body: .json(Self.schema(try await hub.items.item(id: input.path.id, in: try context())))))
    }

    func relatedItems(_ input: Operations.RelatedItems.Input) async throws -> Operations.RelatedItems.Output {
        let related = try await hub.correlation.related(to: input.path.id, in: try context())
        return .ok(.init(body: .json(.init(
            readable: related.readable.map { .init(item: Self.schema($0.item), persons: $0.persons, tags: $0.tags) },
            withheld: related.withheld.map(Self.schema),
            unseen: .init(additionalProperties: Dictionary(uniqueKeysWithValues: related.unseen.map { ($0.key.rawValue, $0.value) }))))))
    }

    func findPerson(_ input: Operations.FindPerson.Input) async throws -> Operations.FindPerson.Output {
        let found = try await hub.correlation.person(input.query.name, in: try context())
        return .ok(.init(body: .json(.init(items: found.readable.map(Self.schema), withheld: found.withheld))))
    }

    func listAlerts(_ input: Operations.ListAlerts.Input) async throws -> Operations.ListAlerts.Output {
        let views = try await hub.alerts.alerts(limit: input.query.limit ?? 100, in: try context())
        return .ok(.init(body: .json(.init(alerts: views.map { view in
            let alert = view.alert
            return .init(id: alert.id, rule: alert.rule, ruleName: view.ruleName, time: alert.time, units: alert.units, items: alert.itemIDs.count,
                         agencies: alert.itemsByAgency.sorted { $0.key < $1.key }.map { .init(agency: $0.key, items: $0.value) }, unread: view.unread)
        }))))
    }

    func getItemPayload(_ input: Operations.GetItemPayload.Input) async throws -> Operations.GetItemPayload.Output {
        .ok(try await payload(id: input.path.id, accept: input.headers.accept.map { $0.contentType.rawValue }))
    }

    /// An item's payload as the reader takes it (the generated route, the hand-written one, `HandWrittenOperations`,
    /// and `FastLane`); `accept`: the media types of the request's Accept header, as the generated layer reads them.
    func payload(id: String, accept: [String]) async throws -> Operations.GetItemPayload.Output.Ok {
        let payload = try await delivery(id: id, accept: accept)
        let body = Self.httpBody(payload.body)
        return .init(headers: .init(liaisonSHA256: payload.sha256), body: payload.framed ? .applicationVnd_liaison_cmsFrames(body) : payload.encrypted ? .applicationPkcs7Mime(body) : .binary(body))
    }

    /// The delivery behind `payload`: its `Liaison-Content-Type` is set on the answer (`ResponseHeaders`).
    func delivery(id: String, accept: [String]) async throws -> DeliveredPayload {
        let ranges = accept.map { $0.lowercased() }
        // Frames only for a reader that names them: any other takes one envelope (what openssl and curl expect).
        let framed = AcceptMiddleware.framesNamed
        let payload = try await hub.items.payload(id: id, in: try context(), presenting: RequestPrincipal.certificate, framed: framed) { sealed in
            AcceptMiddleware.allows(sealed ? AnswerMediaTypes.sealedPayload : AnswerMediaTypes.plainPayload, ranges: ranges)
        }
        ResponseHeaders.current?.set(ResponseHeaders.liaisonContentType, payload.contentType)
        return payload
    }

    /// A delivered body as the generated layer sends it: a streamed one is read from the store as the connection takes
    /// it (HTTPBody pulls the next piece when it has sent the last).
    static func httpBody(_ body: DeliveredBody) -> HTTPBody {
        switch body {
        case .whole(let bytes): HTTPBody(bytes)
        case .streamed(let stream): streamedBody(stream, length: stream.length)
        }
    }

    func explainAccess(_ input: Operations.ExplainAccess.Input) async throws -> Operations.ExplainAccess.Output {
        let decision = try await hub.items.explain(principal: input.query.principal, item: input.query.item, in: try context())
        let access = Components.Schemas.AccessExplanation.AccessPayload(rawValue: decision.access.rawValue) ?? .hidden
        return .ok(.init(body: .json(.init(principal: input.query.principal, item: input.query.item, access: access, reason: decision.reason))))
    }

    func listAudit(_ input: Operations.ListAudit.Input) async throws -> Operations.ListAudit.Output {
        let query = input.query
        let limit = query.limit ?? 1000
        let entries = try await hub.audit.entries(TrailFilter(after: query.after ?? 0, limit: limit, actor: query.actor, item: query.item, unit: query.unit,
                                                            action: query.action, since: query.since, until: query.until), in: try context())
        return .ok(.init(body: .json(.init(entries: entries.map(Self.schema), nextAfter: entries.count == limit ? entries.last?.seq : nil))))
    }

    func getAuditChain(_ input: Operations.GetAuditChain.Input) async throws -> Operations.GetAuditChain.Output {
        let slices = try await hub.audit.chain(after: input.query.after ?? 0, limit: input.query.limit ?? AuditService.chainPageLimit, in: try context())
        return .ok(.init(body: .plainText(Self.streamedBody(slices))))
    }

    func getAuditHead(_ input: Operations.GetAuditHead.Input) async throws -> Operations.GetAuditHead.Output {
        let head = try await hub.audit.head(in: try context())
        return .ok(.init(body: .json(.init(seq: head.seq, hash: head.hash, signedHead: head.signed.map(Self.schema), certificate: hub.certificatePEM))))
    }

    func listAuditHeads(_ input: Operations.ListAuditHeads.Input) async throws -> Operations.ListAuditHeads.Output {
        let limit = input.query.limit ?? 1000
        let (heads, signers) = try await hub.audit.signedHeads(after: input.query.after ?? 0, limit: limit, in: try context())
        return .ok(.init(body: .json(.init(heads: heads.map(Self.schema),
                                           signers: signers.isEmpty ? nil : signers.sorted { $0.key < $1.key }.map { .init(fingerprint: $0.key, certificate: $0.value) },
                                           nextAfter: heads.count == limit ? heads.last?.seq : nil))))
    }

    static func schema(_ head: SignedHead) -> Components.Schemas.SignedHead {
        .init(seq: head.seq, hash: head.hash, timeMs: head.timeMs, signature: Data(head.signature).base64EncodedString(), signer: head.signer)
    }

    static func schema(_ entry: AuditEntry) -> Components.Schemas.AuditEntry {
        let record = entry.record
        return .init(seq: entry.seq, time: record.time, timeMs: record.time.millisecondsSince1970, actor: record.actor,
                     action: record.action, targets: record.targets, unit: record.unit, outcome: record.outcome,
                     detail: .init(additionalProperties: record.detail), prevHash: entry.previousHash, hash: entry.hash)
    }

    /// An item as the wire shows it; a withheld stub carries only id, kind, level, owner, unit and time.
    static func schema(_ visible: VisibleItem) -> Components.Schemas.Item {
        let item = visible.item
        var schema = Components.Schemas.Item(id: item.id, access: visible.isWithheld ? .withheld : .read, kind: item.kind,
                                             classification: item.classification.rawValue, owner: item.owner, unit: item.unit, createdAt: item.createdAt)
        guard !visible.damaged else {
            schema.integrityError = true
            return schema
        }
        guard !visible.isWithheld else { return schema }
        schema.title = item.title
        schema.persons = item.persons
        schema.tags = item.tags
        schema.contentType = item.contentType
        schema.sha256 = item.sha256
        schema.size = Int64(item.size)
        schema.pushedBy = item.pushedBy
        schema.answers = item.answers
        return schema
    }
}
