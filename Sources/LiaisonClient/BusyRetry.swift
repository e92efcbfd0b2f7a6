import Foundation
import HTTPTypes
import OpenAPIRuntime

/// Tries a read again when the hub answers 503 with a short Retry-After: `busy` (the large answers it is sending hold
/// its answer budget) or `database_unavailable` (PostgreSQL restarting). `liaison audit verify` pages through millions
/// of entries, and one busy moment would otherwise end it. Writes are never tried again here: the hub stored nothing,
/// but whether to push again is the caller's decision.
struct BusyRetry: ClientMiddleware {
    /// More tries after the first, each after the wait the hub asked for.
    var retries = 5
    /// The longest wait taken; a longer Retry-After (a full disk's) is left to the caller.
    var longestWait = 10
    /// Told before each wait: the operation and the seconds.
    let onRetry: @Sendable (_ operation: String, _ seconds: Int) -> Void

    func intercept(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)) async throws -> (HTTPResponse, HTTPBody?) {
        // A dossier's payloads are read with a POST (its body names the items), and nothing is written.
        guard request.method == .get || operationID == "pullDossier" else { return try await next(request, body, baseURL) }
        var tried = 0
        while true {
            let (response, answer) = try await next(request, body, baseURL)
            guard response.status.code == 503, tried < retries, let wait = response.headerFields[.retryAfter].flatMap({ Int($0) }),
                  (0...longestWait).contains(wait) else {
                return (response, answer)
            }
            // The refusal's body is read to its end, so that its connection can serve the next try.
            if let answer { _ = try await ArraySlice(collecting: answer, upTo: 1 << 20) }
            tried += 1
            onRetry(operationID, wait)
            try await Task.sleep(for: .seconds(wait))
        }
    }
}
