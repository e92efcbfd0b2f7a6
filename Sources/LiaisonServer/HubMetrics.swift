import Foundation
import LiaisonHub
public import LiaisonStore
import Metrics
import Prometheus
import Synchronization

/// The numbers an operator alerts on, through swift-metrics into a Prometheus registry of this hub's own (not the
/// process-wide metrics system, so that two hubs in one process, as in the tests, never count each other's traffic).
/// Counters move as requests are answered and commits land; gauges are read from the hub at each scrape.
public final class HubMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    /// Counters and timers made once each: made per request, their lookup in the registry cost more than counting
    /// (the keys are operations and statuses, levels and error codes: a few hundred at most).
    private let requests = Mutex<[RequestKey: (counter: Metrics.Counter, timer: Metrics.Timer)]>([:])
    private let pushes = Mutex<[String: Metrics.Counter]>([:])
    private let refusals = Mutex<[String: Metrics.Counter]>([:])

    private struct RequestKey: Hashable {
        let operation: String
        let status: Int
    }

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [.microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                                                   .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                                                   .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(60)]
        factory.valueHistogramBuckets = ["liaison_commit_batch_writes": [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]]
        self.factory = factory
    }

    /// One answered request: by operation (the contract's operationId, or `none` for a path that is no endpoint) and status.
    func answered(operation: String, status: Int, duration: Duration) {
        let metrics = Self.made(RequestKey(operation: operation, status: status), in: requests) {
            (Metrics.Counter(label: "liaison_requests_total", dimensions: [("operation", operation), ("status", String(status))], factory: factory),
             Metrics.Timer(label: "liaison_request_duration_seconds", dimensions: [("operation", operation)], factory: factory))
        }
        metrics.counter.increment()
        metrics.timer.record(duration: duration)
    }

    /// A push stored (not a replay), by level.
    func pushed(classification: String) {
        Self.made(classification, in: pushes) {
            Metrics.Counter(label: "liaison_pushes_total", dimensions: [("classification", classification)], factory: factory)
        }.increment()
    }

    /// A request refused with a 4xx or 503, by error code.
    func refused(code: String) {
        Self.made(code, in: refusals) { Metrics.Counter(label: "liaison_refusals_total", dimensions: [("code", code)], factory: factory) }.increment()
    }

    /// A group commit: how many writes one transaction held, and how long it took (once per commit, not per request).
    func committed(writes: Int, duration: Duration) {
        Recorder(label: "liaison_commit_batch_writes", factory: factory).record(writes)
        Metrics.Timer(label: "liaison_commit_duration_seconds", factory: factory).record(duration: duration)
    }

    /// What `known` holds under `key`, made and kept the first time.
    private static func made<Key: Hashable & Sendable, T: Sendable>(_ key: Key, in known: borrowing Mutex<[Key: T]>, make: () -> T) -> T {
        known.withLock { known in
            if let made = known[key] { return made }
            let made = make()
            known[key] = made
            return made
        }
    }

    /// Counts `store`'s commits (SQLite's group commits; one per write transaction on PostgreSQL, whose own group
    /// commit of WAL flushes is not seen from here).
    public func observe(_ store: any CommitObservable) {
        store.observeCommits { [weak self] writes, duration in self?.committed(writes: writes, duration: duration) }
    }

    /// The Prometheus text exposition, with the gauges read from `hub` now.
    func exposition(of hub: Hub, connectionsOpen: Int) async throws -> [UInt8] {
        let gauges = try await hub.gauges()
        Gauge(label: "liaison_audit_chain_entries", factory: factory).record(gauges.chainLength)
        Gauge(label: "liaison_audit_signed_through", factory: factory).record(gauges.signedThrough)
        if let seconds = gauges.secondsSinceSignedHead {
            Gauge(label: "liaison_audit_seconds_since_signed_head", factory: factory).record(seconds)
        }
        Gauge(label: "liaison_feed_long_polls_waiting", factory: factory).record(gauges.waitingFeedReaders)
        Gauge(label: "liaison_access_requests_pending", factory: factory).record(gauges.pendingRequests)
        Gauge(label: "liaison_grants_active", factory: factory).record(gauges.activeGrants)
        Gauge(label: "liaison_key_ring_versions", factory: factory).record(gauges.keyVersions.count)
        for (version, keys) in gauges.keyVersions {
            Gauge(label: "liaison_key_ring_data_keys", dimensions: [("version", String(version))], factory: factory).record(keys)
        }
        Gauge(label: "liaison_connections_open", factory: factory).record(connectionsOpen)
        Gauge(label: "liaison_answer_budget_bytes_held", factory: factory).record(gauges.answerBytesHeld)
        Gauge(label: "liaison_answer_budget_bytes", factory: factory).record(gauges.answerBudget)
        return registry.emitToBuffer()
    }
}
