import Foundation
import Hummingbird
import LiaisonHub

/// Refuses, before the handler runs, a request whose `Accept` header excludes every media type its route
/// answers with. The generated layer checks `Accept` only when it writes the response, after the action:
/// a push would be stored and then answered with an error, and a read audited but not delivered.
struct AcceptMiddleware: RouterMiddleware {
    typealias Context = LiaisonRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.accept] else { return try await next(request, context) }
        let offered = AnswerMediaTypes.of(path: request.uri.path)
        let ranges = try Self.ranges(of: header)
        guard offered.contains(where: { Self.allows($0, ranges: ranges) }) else {
            throw HubError(.notAcceptable, code: "not_acceptable", message: "\(request.uri.path) answers with \(offered.joined(separator: " or ")), which `Accept: \(header)` excludes",
                           hint: "Accept \(offered.joined(separator: " or ")) (or */*), or leave the Accept header out")
        }
        return try await Self.$framesNamed.withValue(ranges.contains(AnswerMediaTypes.sealedFrames)) { try await next(request, context) }
    }

    /// Whether the request's own Accept header names `SealedFrames` (the generated layer reads a missing header as
    /// accepting every type the route declares, so it cannot tell).
    @TaskLocal static var framesNamed = false

    /// The media ranges of an Accept header, parameters dropped, as the generated layer reads them.
    static func ranges(of header: String) throws -> [String] {
        try header.split(separator: ",").map { value in
            let range = (value.split(separator: ";").first.map(String.init) ?? "").trimmingCharacters(in: .whitespaces).lowercased()
            let parts = range.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw HubError(.invalid, code: "bad_accept", message: "'\(value.trimmingCharacters(in: .whitespaces))' in the Accept header is not a media range",
                               hint: "Use media ranges such as application/json or */*, separated by commas", field: "Accept")
            }
            return range
        }
    }

    /// Whether `mediaType` falls in one of the ranges (`*/*`, `type/*` or the type itself); no range at all allows anything.
    static func allows(_ mediaType: String, ranges: [String]) -> Bool {
        let type = mediaType.split(separator: "/").first.map(String.init) ?? ""
        return ranges.isEmpty || ranges.contains { $0 == "*/*" || $0 == type + "/*" || $0 == mediaType }
    }
}
