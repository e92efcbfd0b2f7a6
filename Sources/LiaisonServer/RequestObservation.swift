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
    /// The daemon's own handler, which writes the line without swift-log's metadata dictionary, its hashing and its
    /// sorting. Paired, a metadata read cost 9-10 us less with no request line at all; written this way, the line costs
    /// about half of that.
    let lines: (any FieldLineWriting)?

    init(logger: Logger, metrics: HubMetrics?) {
        self.logger = logger
        self.metrics = metrics
        lines = (logger.handler as? any FieldLineWriting).flatMap { $0.writesFieldsAlone ? $0 : nil }
    }

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
        guard logger.logLevel <= .info else { return }
        let milliseconds = Self.milliseconds(duration)
        if let lines {
            // In the order of their keys, as both formats write them.
            lines.write(level: .info, message: "request", source: Self.source, fields: [
                ("duration_ms", milliseconds), ("method", method.rawValue), ("operation", operation), ("path", path),
                ("principal", principal ?? "-"), ("status", String(status)),
            ])
        } else {
            logger.info("request", metadata: [
                "operation": "\(operation)", "principal": "\(principal ?? "-")", "status": "\(status)",
                "duration_ms": "\(milliseconds)", "method": "\(method)", "path": "\(path)",
            ])
        }
    }

    /// The module swift-log names as a line's source when it is logged from here.
    static let source = "LiaisonServer"

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
