import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import LiaisonAPI
import LiaisonHub
import LiaisonStore
import Logging
import OpenAPIRuntime

/// Turns every error into `{"error": {"code", "message", "hint"}}`. Errors the caller caused become
/// 4xx with a message that says what to fix; anything else is logged and becomes a bare 500.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = LiaisonRequestContext
    let logger: Logger
    let storageAlarm: StorageAlarm
    let metrics: HubMetrics?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return try refusal(for: error, method: request.method, uri: request.uri).response(from: request, context: context)
        }
    }

    /// The answer to `error`: logged when the hub failed (never with the request's input), counted when refused.
    func refusal(for error: any Error, method: HTTPRequest.Method, uri: URI) -> HubError {
        let hubError = Self.translate(error, method: method, uri: uri)
        if hubError.kind == .internalFailure {
            // The operation, who asked, and the cause's kind: never the request's input (see FailureLog).
            var metadata: Logger.Metadata = ["method": "\(method)", "path": "\(uri.path)", "cause": "\(FailureLog.cause(of: error))"]
            if let operation = FailureLog.operation(of: FailureLog.unattributed(error)) { metadata["operation"] = "\(operation)" }
            if let principal = (error as? AttributedFailure)?.principal { metadata["principal"] = "\(principal)" }
            logger.error("request failed", metadata: metadata)
        }
        if hubError == HubError.storageFull { storageAlarm.noteRefusal() }
        if hubError.kind != .internalFailure && hubError.kind != .integrity { metrics?.refused(code: hubError.code) }
        return hubError
    }

    static func translate(_ error: any Error, method: HTTPRequest.Method, uri: URI) -> HubError {
        switch error {
        case let error as AttributedFailure:
            return translate(error.error, method: method, uri: uri)
        case let error as HubError:
            return error
        case StoreError.full:
            return HubError.storageFull
        case StoreError.unavailable:
            return HubError.databaseUnavailable
        case let error as ServerError:
            if let hubError = error.underlyingError as? HubError { return hubError }
            if case StoreError.full = error.underlyingError { return HubError.storageFull }
            if case StoreError.unavailable = error.underlyingError { return HubError.databaseUnavailable }
            // No operation input means the request itself could not be understood: the caller's mistake.
            guard error.operationInput == nil else { return internalFailure }
            return badRequest(error.underlyingError, cause: error.causeDescription, uri: uri)
        case let error as HTTPError:
            switch error.status {
            case .notFound:
                if let allowed = EndpointMethods.allowed(on: uri.path), !allowed.contains(method.rawValue) {
                    var error = HubError(.methodNotAllowed, code: "method_not_allowed", message: "\(method) is not allowed on \(uri.path)",
                                         hint: "Use \(allowed.joined(separator: " or ")); see openapi.yaml")
                    error.allow = allowed
                    return error
                }
                return HubError(.notFound, code: "no_such_endpoint", message: "\(method) \(uri.path) is not an endpoint of this hub",
                                hint: "See openapi.yaml for the endpoints; all of them start with /v1")
            case .methodNotAllowed:
                return HubError(.methodNotAllowed, code: "method_not_allowed", message: "\(method) is not allowed on \(uri.path)", hint: "See openapi.yaml")
            case .contentTooLarge:
                return tooLarge
            default:
                return HubError(.invalid, code: "bad_request", message: error.body ?? "the request is malformed", hint: "See openapi.yaml for the request format")
            }
        case let error as any HTTPResponseError where error.status == .contentTooLarge:
            return tooLarge
        default:
            return internalFailure
        }
    }

    static let tooLarge = HubError(.tooLarge, code: "payload_too_large", message: "the request body is too large", hint: "Split the material into several items")

    static let internalFailure = HubError(.internalFailure, code: "internal", message: "the hub failed to handle this request",
                                          hint: "Try again; if it persists, report it to the hub's operator")

    /// A 400 that names the field the decoder choked on.
    static func badRequest(_ error: any Error, cause: String, uri: URI) -> HubError {
        guard let decoding = error as? DecodingError else {
            if cause.lowercased().contains("content type") || cause.lowercased().contains("content-type") {
                return HubError(.invalid, code: "bad_content_type", message: cause, hint: "Send the body as JSON with `Content-Type: application/json`")
            }
            return HubError(.invalid, code: "bad_request", message: cause, hint: "See openapi.yaml for the request format")
        }
        func path(_ keys: [any CodingKey]) -> String { keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") }
        switch decoding {
        case .keyNotFound(let key, let context):
            let field = path(context.codingPath + [key])
            return HubError(.invalid, code: "missing_field", message: "the field '\(field)' is missing", hint: "Add '\(field)' to the JSON body", field: field)
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            let field = path(context.codingPath)
            if field.isEmpty, let parameter = misfitParameter(of: uri, expecting: type) {
                // The URI decoder does not say which parameter it choked on; the one that does not parse is it.
                return HubError(.invalid, code: "invalid_field", message: "the query parameter '\(parameter)' must be \(describe(type))",
                                hint: "Send '\(parameter)' as \(describe(type)), or leave it out", field: parameter)
            }
            if field.isEmpty {
                return HubError(.invalid, code: "invalid_json", message: "the body must be a JSON object", hint: "Send a JSON object with the fields documented in openapi.yaml")
            }
            return HubError(.invalid, code: "invalid_field", message: "the field '\(field)' must be \(describe(type))",
                            hint: "Send '\(field)' as \(describe(type))", field: field)
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty, let (parameter, allowed) = misfitEnumParameter(of: uri) {
                return HubError(.invalid, code: "invalid_field", message: "the query parameter '\(parameter)' must be one of \(allowed.joined(separator: ", "))",
                                hint: "Send '\(parameter)' as one of \(allowed.joined(separator: ", ")), or leave it out", field: parameter)
            }
            if context.codingPath.isEmpty, let parameter = misfitDateParameter(of: uri) {
                return HubError(.invalid, code: "invalid_field", message: "the query parameter '\(parameter)' must be an RFC 3339 timestamp between years 0001 and 9999",
                                hint: "Send '\(parameter)' like 2026-11-30T00:00:00Z, or leave it out", field: parameter)
            }
            if context.codingPath.isEmpty {
                return HubError(.invalid, code: "invalid_json", message: "the body is not valid JSON", hint: "Send a JSON object with `Content-Type: application/json`")
            }
            let field = path(context.codingPath)
            return HubError(.invalid, code: "invalid_field", message: "the field '\(field)' has an invalid value", hint: "See openapi.yaml for what '\(field)' accepts", field: field)
        @unknown default:
            return HubError(.invalid, code: "bad_request", message: cause, hint: "See openapi.yaml for the request format")
        }
    }

    /// The query parameter whose value cannot be a number (for a number the decoder expected), if exactly one is.
    static func misfitParameter(of uri: URI, expecting type: Any.Type) -> String? {
        guard type is Int.Type || type is Int64.Type || type is Bool.Type else { return nil }
        let misfits = uri.queryParameters.filter { _, value in
            type is Bool.Type ? !["true", "false"].contains(String(value)) : Int64(String(value)) == nil
        }.map { String($0.key) }
        return Set(misfits).count == 1 ? misfits.first : nil
    }

    /// The enum query parameter whose value is not one of its values, if exactly one is.
    static func misfitEnumParameter(of uri: URI) -> (String, [String])? {
        let misfits = uri.queryParameters.compactMap { name, value -> (String, [String])? in
            guard let allowed = QueryParameterTypes.enums[String(name)], !allowed.contains(String(value)) else { return nil }
            return (String(name), allowed)
        }
        return misfits.count == 1 ? misfits.first : nil
    }

    /// The date-time query parameter whose value is not a timestamp the hub takes, if exactly one is.
    static func misfitDateParameter(of uri: URI) -> String? {
        let misfits = uri.queryParameters.filter { name, value in
            QueryParameterTypes.dates.contains(String(name)) && !MillisecondDateTranscoder.accepts(String(value))
        }.map { String($0.key) }
        return Set(misfits).count == 1 ? misfits.first : nil
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Int64.Type: return "an integer"
        case is Bool.Type: return "true or false"
        case is [String].Type: return "an array of strings"
        default:
            let name = String(describing: type)
            return name.hasPrefix("Array") ? "an array" : (name.contains("Dictionary") ? "an object" : "a value of the documented type")
        }
    }
}
