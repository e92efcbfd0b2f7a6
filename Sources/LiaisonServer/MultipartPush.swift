import Foundation
import HTTPTypes
import LiaisonAPI
import LiaisonHub
@_spi(Generated) import OpenAPIRuntime

/// A push sent as `multipart/form-data`, as `curl -F` sends a file: the part `item` (the item's fields as JSON), then
/// the part `payload`, streamed to the store as a streamed push's body is (`ItemService.pushStreamed`). Read here
/// rather than by the generated layer, which would collect a JSON part of any size whole.
enum MultipartPush {
    static let itemLimit = 64 * 1024

    /// Whether a push's content type is a form; `BodyLimitMiddleware` asks it too, to let the form stream.
    static func isForm(_ contentType: String?) -> Bool { formParameters(of: contentType) != nil }

    /// The parameters of `contentType` (its media type first) if it is `multipart/form-data`; nil otherwise.
    private static func formParameters(of contentType: String?) -> [(name: String, value: String?)]? {
        // Asked of every push: a JSON one is passed over on its first letter.
        guard let contentType, contentType.utf8.first.map({ $0 | 0x20 }) == UInt8(ascii: "m") else { return nil }
        let parameters = Form.parameters(of: contentType)
        return parameters.first?.name.lowercased() == "multipart/form-data" ? parameters : nil
    }

    /// The form's boundary if `contentType` is `multipart/form-data`; nil for any other media type.
    static func boundary(of contentType: String?) throws -> String? {
        guard let parameters = formParameters(of: contentType) else { return nil }
        // RFC 2046: 1 to 70 characters, none of them a control character.
        guard let boundary = parameters.first(where: { $0.name.lowercased() == "boundary" })?.value, (1...70).contains(boundary.utf8.count),
              boundary.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7f }) else {
            throw HubError(.invalid, code: "invalid_multipart", message: "a multipart/form-data body needs a boundary parameter of 1 to 70 characters",
                           hint: "Send Content-Type: multipart/form-data; boundary=… as curl -F does")
        }
        return boundary
    }

    /// The push, its errors wrapped as `HandWrittenOperations.pushItem`'s are: the form's own (its parts, the fields
    /// in `item`) as the request's, with the messages a JSON push gets for its fields; the rest as the handler's.
    static func push(_ request: HTTPRequest, _ body: HTTPBody, _ metadata: ServerRequestMetadata, boundary: String,
                     api: APIHandler) async throws -> (item: Components.Schemas.Item, created: Bool) {
        let operation = Operations.PushItem.id
        let form = MultipartReader(boundary: boundary, source: body.makeAsyncIterator())
        let sent = try await HandWrittenOperations.handling(operation, request, body, metadata, input: nil) { () async throws -> PushRequest in
            let idempotencyKey = try HandWrittenOperations.converter.getOptionalHeaderFieldAsURI(in: request.headerFields, name: "Idempotency-Key", as: String.self)
            guard let first = try await form.nextPart(), first.name == "item" else { throw Form.malformed("the first part is not 'item'") }
            // curl gives a part read from a file (-F item=@item.json) application/octet-stream, and one typed on the
            // command line none: both are taken; a type that says it is something else is a mix-up of the parts.
            if let type = first.contentType, !HandWrittenOperations.isJSON(type), !["text/plain", "application/octet-stream"].contains(where: type.lowercased().hasPrefix) {
                throw HubError(.invalid, code: "invalid_multipart", message: "the part 'item' is \(type); it holds the item's fields as JSON",
                               hint: "Send the item's fields as JSON in the part 'item' (curl -F item=@item.json), the file in the part 'payload'")
            }
            let json = try await form.collect(upTo: itemLimit, what: "the part 'item'")
            // Read as the generated layer reads a JSON push: the same messages for a missing or mistyped field.
            let fields = try await HandWrittenOperations.converter.getRequiredRequestBodyAsJSON(Components.Schemas.ItemFields.self, from: HTTPBody(json),
                                                                                               transforming: { $0 })
            guard let file = try await form.nextPart(), file.name == "payload" else { throw Form.malformed("the part after 'item' is not 'payload' (the file)") }
            // The file's media type without its parameters (a charset): an item's content type is a bare type/subtype.
            let fileType = file.contentType.flatMap { Form.parameters(of: $0).first?.name }.flatMap { $0.isEmpty ? nil : $0 }
            var sent = PushRequest(kind: fields.kind, title: fields.title, unit: fields.unit, classification: fields.classification.rawValue,
                                   contentType: fields.contentType ?? fileType ?? "application/octet-stream", payload: [],
                                   persons: fields.persons ?? [], tags: fields.tags ?? [], idempotencyKey: idempotencyKey)
            sent.answers = fields.answers
            return sent
        }
        return try await HandWrittenOperations.handling(operation, request, body, metadata, input: sent) {
            api.answer(to: try await api.hub.items.pushStreamed(sent, payload: Payload(form: form), in: try api.context()))
        }
    }

    typealias Form = MultipartReader<HTTPBody.AsyncIterator>

    /// The part `payload`'s bytes; after its last, the form must close: a part after it fails the push before the
    /// item is stored.
    struct Payload: AsyncSequence {
        typealias Element = ArraySlice<UInt8>
        let form: Form

        struct AsyncIterator: AsyncIteratorProtocol {
            let form: Form
            mutating func next() async throws -> ArraySlice<UInt8>? {
                if let piece = try await form.nextBytes() { return piece }
                if let extra = try await form.nextPart() {
                    throw Form.malformed("a part '\(extra.name)' follows 'payload', which must be the last")
                }
                return nil
            }
        }

        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(form: form) }
    }
}
