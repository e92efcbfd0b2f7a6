import Foundation
import HTTPTypes
import LiaisonAPI
import LiaisonHub
@_spi(Generated) import OpenAPIRuntime

/// The hottest operations answered by hand instead of through the generated layer: a metadata read
/// (`getItem`), a JSON push (`pushItem`), a listing (`listItems`) and a dossier's manifest (`getDossier`), whose answers
/// the generated layer wrote with Foundation's JSONEncoder, which cost more than the rest of the answer (a fifth of a
/// 20-item listing, most of a 10,000-item manifest), and a payload read (`getItemPayload`), whose digest header went
/// through the generic URI encoder. An access request (`getRequest`), written as the generated layer writes it, is
/// answered here so that a large one (a dossier's names thousands of items) holds its share of the answer budget. A
/// dossier's payloads (`pullDossier`) pass through one step here, for a body the generated layer cannot tell is absent.
/// A push sent as a form (`multipart/form-data`) is read here only (`MultipartPush`): the generated layer would collect
/// its parts whole. Everything else is registered as generated.
///
/// The contract stays `openapi.yaml`: a route is replaced only where the generated layer registers it (a test
/// checks that each still is), the request is read with the generated layer's own converter, and the answer is
/// `ItemJSON` (or `DossierJSON`) of the generated schema. Any request the hand-written route does not take as it is
/// (another content type, a header or body the converter refuses) goes to the generated handler, which answers or
/// refuses it exactly as before.
final class HandWrittenOperations: ServerTransport {
    typealias Handler = @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)

    let base: any ServerTransport
    let api: APIHandler
    /// The routes replaced so far (method and path template), for the test that pins them to the contract.
    private(set) var replaced: [String] = []

    init(base: any ServerTransport, api: APIHandler) {
        self.base = base
        self.api = api
    }

    static let getItem = (method: HTTPRequest.Method.get, path: "/v1/items/{id}")
    static let pushItem = (method: HTTPRequest.Method.post, path: "/v1/items")
    static let getItemPayload = (method: HTTPRequest.Method.get, path: "/v1/items/{id}/payload")
    static let listItems = (method: HTTPRequest.Method.get, path: "/v1/items")
    static let pullDossier = (method: HTTPRequest.Method.post, path: "/v1/dossiers/{id}/payloads")
    static let getDossier = (method: HTTPRequest.Method.get, path: "/v1/dossiers/{id}")
    static let getRequest = (method: HTTPRequest.Method.get, path: "/v1/requests/{id}")

    static let converter = Converter(configuration: Wire.configuration)

    func register(_ generated: @escaping Handler, method: HTTPRequest.Method, path: String) throws {
        let api = api
        let handler: Handler
        switch (method, path) {
        case (Self.getItem.method, Self.getItem.path):
            handler = { request, body, metadata in try await Self.getItem(request, body, metadata, api: api, generated: generated) }
        case (Self.pushItem.method, Self.pushItem.path):
            handler = { request, body, metadata in try await Self.pushItem(request, body, metadata, api: api, generated: generated) }
        case (Self.getItemPayload.method, Self.getItemPayload.path):
            handler = { request, body, metadata in try await Self.getItemPayload(request, body, metadata, api: api, generated: generated) }
        case (Self.listItems.method, Self.listItems.path):
            handler = { request, body, metadata in try await Self.listItems(request, body, metadata, api: api, generated: generated) }
        case (Self.getDossier.method, Self.getDossier.path):
            handler = { request, body, metadata in
                try await Self.largeRead(Operations.GetDossier.id, accepting: Operations.GetDossier.AcceptableContentType.self, request, body, metadata,
                                         generated: generated) { try await api.manifest(id: $0) }
            }
        case (Self.getRequest.method, Self.getRequest.path):
            handler = { request, body, metadata in
                try await Self.largeRead(Operations.GetRequest.id, accepting: Operations.GetRequest.AcceptableContentType.self, request, body, metadata,
                                         generated: generated) { try await api.requestAnswer(id: $0) }
            }
        case (Self.pullDossier.method, Self.pullDossier.path):
            handler = { request, body, metadata in try await Self.pullDossier(request, body, metadata, generated: generated) }
        default:
            return try base.register(generated, method: method, path: path)
        }
        replaced.append("\(method.rawValue) \(path)")
        try base.register(handler, method: method, path: path)
    }

    static func getItem(_ request: HTTPRequest, _ body: HTTPBody?, _ metadata: ServerRequestMetadata, api: APIHandler,
                        generated: Handler) async throws -> (HTTPResponse, HTTPBody?) {
        guard let id = jsonRead(request, metadata, id: Components.Parameters.ItemID.self, accepting: Operations.GetItem.AcceptableContentType.self) else {
            return try await generated(request, body, metadata)
        }
        return answer(.ok, try await item(id: id, request, metadata, api: api))
    }

    /// A metadata read's answer; `FastLane` answers most of them through here.
    static func item(id: String, _ request: HTTPRequest, _ metadata: ServerRequestMetadata, api: APIHandler) async throws -> [UInt8] {
        let item = try await handling(Operations.GetItem.id, request, nil, metadata, input: id) {
            APIHandler.schema(try await api.hub.items.item(id: id, in: try api.context()))
        }
        return ItemJSON.bytes(of: item)
    }

    /// A read whose JSON answer names thousands of items (a dossier's manifest, an access request): its `id` read as the
    /// generated layer reads it, the answer `deliver`s, a large one sent in pieces while it holds its share of the
    /// answer budget (`APIHandler.manifest`, `APIHandler.requestAnswer`).
    static func largeRead<Accepted: AcceptableProtocol>(_ operation: String, accepting: Accepted.Type, _ request: HTTPRequest, _ body: HTTPBody?,
                                                        _ metadata: ServerRequestMetadata, generated: Handler,
                                                        deliver: (String) async throws -> DeliveredBody) async throws -> (HTTPResponse, HTTPBody?) {
        guard let id = jsonRead(request, metadata, id: String.self, accepting: accepting) else { return try await generated(request, body, metadata) }
        let delivered = try await handling(operation, request, body, metadata, input: id) { try await deliver(id) }
        return answer(.ok, APIHandler.httpBody(delivered))
    }

    /// The `id` of a read answered in JSON, read as the generated layer reads it (which also refuses an Accept header it
    /// cannot parse, or one that rules JSON out); nil leaves the request to the generated layer.
    static func jsonRead<ID: Decodable, Accepted: AcceptableProtocol>(_ request: HTTPRequest, _ metadata: ServerRequestMetadata, id: ID.Type,
                                                                     accepting: Accepted.Type) -> ID? {
        do {
            let id = try converter.getPathParameterAsURI(in: metadata.pathParameters, name: "id", as: ID.self)
            let _: [AcceptHeaderContentType<Accepted>] = try converter.extractAcceptHeaderIfPresent(in: request.headerFields)
            try converter.validateAcceptIfPresent("application/json", in: request.headerFields)
            return id
        } catch {
            return nil
        }
    }

    static func listItems(_ request: HTTPRequest, _ body: HTTPBody?, _ metadata: ServerRequestMetadata, api: APIHandler,
                          generated: Handler) async throws -> (HTTPResponse, HTTPBody?) {
        guard let input = try? listInput(request) else { return try await generated(request, body, metadata) }
        return answer(.ok, try await listed(input, request, api: api))
    }

    /// A listing's input, read as the generated layer reads it, parameter by parameter: absent and plain values here
    /// (`PlainQuery`), the rest by the generated layer's converter, which throws for what it refuses.
    static func listInput(_ request: HTTPRequest) throws -> Operations.ListItems.Input {
        let queryText = request.soar_query
        func parameter<T: Decodable>(_ name: String, as type: T.Type) throws -> T? {
            let found = PlainQuery(queryText, name: name)
            if found == .absent { return nil }
            if case .plain(let text) = found {
                if T.self == String.self { return String(text) as? T }
                // Int(_:) of the value is what the converter does with it; a value it cannot read goes on to the converter.
                if T.self == Int.self, let number = Int(text) { return number as? T }
            }
            return try converter.getOptionalQueryItemAsURI(in: queryText, style: .form, explode: true, name: name, as: T.self)
        }
        let query = Operations.ListItems.Input.Query(unit: try parameter("unit", as: String.self), kind: try parameter("kind", as: String.self),
                                                     classification: try parameter("classification", as: Components.Schemas.Classification.self),
                                                     owner: try parameter("owner", as: String.self), limit: try parameter("limit", as: Int.self),
                                                     cursor: try parameter("cursor", as: String.self))
        let input = Operations.ListItems.Input(query: query, headers: .init(accept: try converter.extractAcceptHeaderIfPresent(in: request.headerFields)))
        try converter.validateAcceptIfPresent("application/json", in: request.headerFields)
        return input
    }

    /// A listing's answer; `FastLane` answers most listings through here.
    static func listed(_ input: Operations.ListItems.Input, _ request: HTTPRequest, api: APIHandler) async throws -> [UInt8] {
        let page = try await handling(Operations.ListItems.id, request, nil, ServerRequestMetadata(), input: input) { try await api.list(input.query) }
        return ItemJSON.bytes(of: page)
    }

    static func pushItem(_ request: HTTPRequest, _ body: HTTPBody?, _ metadata: ServerRequestMetadata, api: APIHandler,
                         generated: Handler) async throws -> (HTTPResponse, HTTPBody?) {
        if let body, let boundary = try await handling(Operations.PushItem.id, request, body, metadata, input: nil, { try MultipartPush.boundary(of: request.headerFields[.contentType]) }) {
            let (item, created) = try await MultipartPush.push(request, body, metadata, boundary: boundary, api: api)
            return answer(created ? .created : .ok, ItemJSON.bytes(of: item))
        }
        // A streamed push (or any other content type), and a JSON push that also sends the streamed form's headers
        // (which the generated layer decodes and may refuse), go the generated way.
        guard let body, isJSON(request.headerFields[.contentType]), !namesStreamedFields(request.headerFields) else {
            return try await generated(request, body, metadata)
        }
        // Before the operation has its input: an error here is the request's, as the generated layer sees it.
        let bytes = try await handling(Operations.PushItem.id, request, body, metadata, input: nil) { try await Data(collecting: body, upTo: .max) }
        let newItem: Components.Schemas.NewItem
        let idempotencyKey: String?
        do {
            if let plain = NewItemJSON.read(bytes) {
                newItem = plain
            } else {
                newItem = try await converter.getRequiredRequestBodyAsJSON(Components.Schemas.NewItem.self, from: HTTPBody(bytes), transforming: { $0 })
            }
            idempotencyKey = try converter.getOptionalHeaderFieldAsURI(in: request.headerFields, name: "Idempotency-Key", as: String.self)
            let _: [AcceptHeaderContentType<Operations.PushItem.AcceptableContentType>] = try converter.extractAcceptHeaderIfPresent(in: request.headerFields)
            try converter.validateAcceptIfPresent("application/json", in: request.headerFields)
        } catch {
            // The generated layer refuses it with the message it always gave.
            return try await generated(request, HTTPBody(bytes), metadata)
        }
        let (answered, created) = try await pushed(newItem, idempotencyKey: idempotencyKey, request, api: api)
        return answer(created ? .created : .ok, answered)
    }

    /// A JSON push's answer, and whether it stored a new item; `FastLane` answers most pushes through here.
    static func pushed(_ newItem: Components.Schemas.NewItem, idempotencyKey: String?, _ request: HTTPRequest, api: APIHandler) async throws -> ([UInt8], Bool) {
        let (item, created) = try await handling(Operations.PushItem.id, request, nil, ServerRequestMetadata(), input: newItem) {
            try await api.push(newItem, idempotencyKey: idempotencyKey)
        }
        return (ItemJSON.bytes(of: item), created)
    }

    static func getItemPayload(_ request: HTTPRequest, _ body: HTTPBody?, _ metadata: ServerRequestMetadata, api: APIHandler,
                               generated: Handler) async throws -> (HTTPResponse, HTTPBody?) {
        let id: String
        let accept: [AcceptHeaderContentType<Operations.GetItemPayload.AcceptableContentType>]
        do {
            id = try converter.getPathParameterAsURI(in: metadata.pathParameters, name: "id", as: Components.Parameters.ItemID.self)
            accept = try converter.extractAcceptHeaderIfPresent(in: request.headerFields)
        } catch {
            return try await generated(request, body, metadata)
        }
        return try await handling(Operations.GetItemPayload.id, request, body, metadata, input: id) {
            let delivered = try await api.delivery(id: id, accept: accept.map { $0.contentType.rawValue })
            var response = HTTPResponse(status: .ok)
            response.headerFields = try payloadFields(of: delivered, request)
            return (response, APIHandler.httpBody(delivered.body))
        }
    }

    /// A payload answer's digest and media type, as the generated layer writes them (the type checked against the
    /// request's Accept header); `FastLane` answers most payload reads with them too.
    static func payloadFields(of delivered: DeliveredPayload, _ request: HTTPRequest) throws -> HTTPFields {
        let contentType = delivered.framed ? AnswerMediaTypes.sealedFrames : delivered.encrypted ? AnswerMediaTypes.sealedPayload : AnswerMediaTypes.plainPayload
        try converter.validateAcceptIfPresent(contentType, in: request.headerFields)
        var fields = HTTPFields()
        let digest = delivered.sha256
        if digest.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) {
            fields[Self.digestHeader] = digest  // hex needs no percent-encoding
        } else {
            try converter.setHeaderFieldAsURI(in: &fields, name: "Liaison-SHA256", value: digest)
        }
        fields[.contentType] = contentType
        return fields
    }

    private static let digestHeader = HTTPField.Name("Liaison-SHA256")!

    /// A request without a content type or bytes has no body: `curl -X POST` asks for every readable payload. The
    /// transport hands the generated layer an empty body, which it would read as JSON (its body is optional, but only
    /// an absent one counts as none) and refuse.
    static func pullDossier(_ request: HTTPRequest, _ body: HTTPBody?, _ metadata: ServerRequestMetadata, generated: Handler) async throws -> (HTTPResponse, HTTPBody?) {
        guard let body, request.headerFields[.contentType] == nil else { return try await generated(request, body, metadata) }
        // Bounded by BodyLimitMiddleware, as every body is.
        let bytes = try await handling(Operations.PullDossier.id, request, body, metadata, input: nil) { try await Data(collecting: body, upTo: .max) }
        return try await generated(request, bytes.isEmpty ? nil : HTTPBody(bytes), metadata)
    }

    /// The two spellings of JSON that clients send, known without parsing the media type.
    static let plainJSONTypes: Set<String> = ["application/json", "application/json; charset=utf-8"]

    /// Whether a push sends any `Liaison-*` header, the streamed form's fields, which the generated layer decodes (and
    /// may refuse) even for a JSON push: such a push goes the generated way.
    static func namesStreamedFields(_ fields: HTTPFields) -> Bool {
        fields.contains { $0.name.canonicalName.hasPrefix("liaison-") }
    }

    /// Whether a push's content type is JSON, as the generated layer's choice between its two forms decides it;
    /// `plainJSONTypes` are known without parsing the media type.
    static func isJSON(_ contentType: String?) -> Bool {
        if let contentType, plainJSONTypes.contains(contentType) { return true }
        return (try? converter.bestContentType(received: contentType.flatMap(OpenAPIMIMEType.init), options: ["application/json", "application/octet-stream"])) == "application/json"
    }

    /// Runs `work`, its errors wrapped as the generated layer wraps them: with the operation's `input`, a handler's
    /// (a `HubError` inside reaches the client as it is; anything else is logged under the operation's name); without,
    /// the request's own (`ErrorMiddleware` answers 400 or 413).
    static func handling<T>(_ operation: String, _ request: HTTPRequest, _ body: HTTPBody?, _ metadata: ServerRequestMetadata,
                            input: (any Sendable)?, _ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch {
            throw ServerError(operationID: operation, request: request, requestBody: body, requestMetadata: metadata, operationInput: input,
                              causeDescription: input == nil ? "Unknown" : "the handler failed", underlyingError: error)
        }
    }

    static func answer(_ status: HTTPResponse.Status, _ bytes: [UInt8]) -> (HTTPResponse, HTTPBody?) {
        answer(status, HTTPBody(bytes))
    }

    static func answer(_ status: HTTPResponse.Status, _ body: HTTPBody) -> (HTTPResponse, HTTPBody?) {
        var response = HTTPResponse(status: status)
        response.headerFields[.contentType] = "application/json; charset=utf-8"
        return (response, body)
    }
}
