import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// Who a request turned out to be, filled in by `IdentityMiddleware` for the request log around it.
final class ObservedRequest: Sendable {
    @TaskLocal static var current: ObservedRequest?
    private let principalName = Mutex<String?>(nil)

    var principal: String? {
        get { principalName.withLock { $0 } }
        set { principalName.withLock { $0 = newValue } }
    }
}

/// The outermost layer: for every answered request, one log line (operation, principal, status, duration; never
/// the query, a payload, a title or a key) and the request metrics.
struct RequestObservationMiddleware: RouterMiddleware {
    typealias Context = LiaisonRequestContext
    let logger: Logger
    let metrics: HubMetrics?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let observed = ObservedRequest()
        let response = try await ObservedRequest.$current.withValue(observed) { try await next(request, context) }
        let operation = EndpointMethods.operation(method: request.method.rawValue, route: context.endpointPath) ?? "none"
        observe(operation: operation, principal: observed.principal, status: response.status.code, since: started, method: request.method, path: request.uri.path)
        return response
    }

    /// The request's log line and metrics, once it is answered.
    func observe(operation: String, principal: String?, status: Int, since started: ContinuousClock.Instant, method: HTTPRequest.Method, path: String) {
        let duration = ContinuousClock.now - started
        metrics?.answered(operation: operation, status: status, duration: duration)
        if logger.logLevel <= .info {
            logger.info("request", metadata: [
                "operation": "\(operation)", "principal": "\(principal ?? "-")", "status": "\(status)",
                "duration_ms": "\(Self.milliseconds(duration))", "method": "\(method)", "path": "\(path)",
            ])
        }
    }

    /// `duration` in milliseconds with two decimals, rounded (`0.86`), without Foundation's `String(format:)`.
    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        // Beyond 31 years (never, between two readings of the clock) the whole milliseconds, without multiplying.
        guard seconds >= 0, seconds < 1_000_000_000 else { return "\(seconds)000" }
        let hundredths = seconds * 100_000 + (attoseconds + 5_000_000_000_000) / 10_000_000_000_000
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
