import Synchronization

/// The store's requests for a connection that the pool has not granted yet, each with what to do should it wait
/// too long, watched by one task for the whole store (`watch`) rather than by a timer and two more tasks per
/// request, which cost about 50 µs of hub CPU per PostgreSQL read (paired, claimed pushes on two hubs).
final class ConnectionWaits: Sendable {
    private struct Waiting {
        let asked: ContinuousClock.Instant
        let giveUp: @Sendable () -> Void
    }
    private struct Waits {
        var next = 0
        var all: [Int: Waiting] = [:]
    }
    private let waits = Mutex(Waits())

    /// Notes a request asked now; `giveUp` is called once, unless the request is removed first.
    func add(giveUp: @escaping @Sendable () -> Void) -> Int {
        waits.withLock { waits in
            waits.next += 1
            waits.all[waits.next] = Waiting(asked: .now, giveUp: giveUp)
            return waits.next
        }
    }

    /// The request got its answer (a connection, or a failure from the pool).
    func remove(_ id: Int) {
        _ = waits.withLock { $0.all.removeValue(forKey: id) }
    }

    /// Until cancelled, a few times per `deadline` (at least once a second): gives up the requests that have waited
    /// `deadline` while no operation of the store completed, or `deadline * busyWaits` however busy the rest. A busy
    /// pool is not an unreachable database, but a request the pool lost is never granted, however busy the rest.
    func watch(deadline: Duration, busyWaits: Int, progress: PostgresStore.Progress) async {
        // At least a millisecond: a zero deadline must not make the watch spin.
        let tick = max(min(deadline / 4, .seconds(1)), .milliseconds(1))
        while !Task.isCancelled {
            try? await Task.sleep(for: tick)
            let now = ContinuousClock.now
            let limit = now - progress.last >= deadline ? deadline : deadline * busyWaits
            let expired = waits.withLock { waits in
                let over = waits.all.filter { now - $0.value.asked >= limit }
                for id in over.keys { waits.all.removeValue(forKey: id) }
                return over.values
            }
            for waiting in expired { waiting.giveUp() }
        }
    }
}
