public import Foundation
import Synchronization

/// Where a ring shared by several hubs is kept (the database, sealed under their master key), in generations:
/// a change is kept only over the generation it was made from, so two hubs changing the ring at once cannot
/// both win and one version number can never name two keys.
public protocol KeyRingKeeper: Sendable {
    /// The ring as kept now and its generation if it is newer than `generation` (nil: any); nil otherwise, or
    /// when none is kept yet.
    func kept(after generation: Int64?) async throws -> (ring: KeyRing, generation: Int64)?
    /// Keeps `ring` as the generation after `generation` (nil: the first ring) and returns the new generation;
    /// nil, keeping nothing, when the kept ring is no longer `generation` or a version `ring` drops still wraps
    /// a stored data key.
    func keep(_ ring: KeyRing, over generation: Int64?) async throws -> Int64?
}

/// Keeps the hub's key ring while it serves: rotation adds a version, retirement drops versions no data key
/// uses any more. Every change is kept (in the ring's file, or by the shared keeper) before it takes effect in
/// memory, so a crash never leaves a data key wrapped under a version that only memory held.
///
/// Pushes seal inside `sealing`, which counts the version they wrap under until their write has committed:
/// a version is retired only when no seal under it is in flight, so an item written just after a rotation
/// cannot be left wrapped under a retired version.
///
/// A shared ring reaches the other hubs when they `refresh` (every second). So that none of them meets a data
/// key under a version it has not heard of yet, a new version seals nothing for `grace` after its creation:
/// until then every hub still seals under the version before it, and only then does the rewrap begin.
public final class KeyCustody: Sendable {
    private struct State {
        /// The ring as kept; its `current` is the newest version.
        var kept: KeyRing
        var generation: Int64?
        /// `kept` with the version that seals now as current (the newest past its grace).
        var sealing: KeyRing
        /// When a version still in its grace starts sealing.
        var sealingChangesAt: Date?
        var sealsInFlight: [UInt32: Int] = [:]

        init(kept: KeyRing, generation: Int64?, grace: TimeInterval, now: Date) {
            self.kept = kept
            self.generation = generation
            (sealing, sealingChangesAt) = Self.sealing(kept, grace: grace, now: now)
        }

        /// A new ring in place of the old one; the seals in flight stay counted (they still hold their versions).
        mutating func replace(with ring: KeyRing, generation: Int64?, grace: TimeInterval, now: Date) {
            kept = ring
            self.generation = generation
            (sealing, sealingChangesAt) = Self.sealing(ring, grace: grace, now: now)
        }

        /// The version that seals at `now`: the newest created at least `grace` ago (the oldest when none is).
        static func sealing(_ kept: KeyRing, grace: TimeInterval, now: Date) -> (KeyRing, Date?) {
            guard grace > 0 else { return (kept, nil) }
            let dates = ISO8601DateFormatter()
            var changesAt: Date?
            for version in kept.versionList.reversed() {
                let effective = (dates.date(from: version.createdAt) ?? .distantPast).addingTimeInterval(grace)
                if effective <= now {
                    return (version.version == kept.current ? kept : kept.withCurrent(version.version), changesAt)
                }
                changesAt = min(changesAt ?? effective, effective)
            }
            return (kept.withCurrent(kept.versionList.first?.version ?? kept.current), changesAt)
        }
    }

    private let state: Mutex<State>
    /// Where the ring lives when this hub alone keeps it; nil for a ring kept only in memory or shared.
    public let path: String?
    private let keeper: (any KeyRingKeeper)?
    private let grace: TimeInterval
    /// What the grace is measured with (the hub's clock).
    private let clock: @Sendable () -> Date

    /// A ring this hub alone keeps, in the file at `path` (nil: in memory only).
    public init(ring: KeyRing, path: String?) {
        state = Mutex(State(kept: ring, generation: nil, grace: 0, now: Date()))
        self.path = path
        keeper = nil
        grace = 0
        clock = { Date() }
    }

    /// A ring shared through `keeper`, as kept at `generation`.
    public init(shared keeper: any KeyRingKeeper, ring: KeyRing, generation: Int64, grace: Duration = .seconds(10),
                clock: @escaping @Sendable () -> Date = { Date() }) {
        self.grace = TimeInterval(grace.components.seconds) + TimeInterval(grace.components.attoseconds) / 1e18
        self.clock = clock
        state = Mutex(State(kept: ring, generation: generation, grace: self.grace, now: clock()))
        path = nil
        self.keeper = keeper
    }

    /// The shared ring as `keeper` keeps it, or a fresh one kept first when there is none yet (several hubs
    /// starting at once keep exactly one).
    public static func opening(_ keeper: any KeyRingKeeper, grace: Duration = .seconds(10),
                               clock: @escaping @Sendable () -> Date = { Date() }) async throws -> KeyCustody {
        for _ in 0..<5 {
            if let (ring, generation) = try await keeper.kept(after: nil) {
                return KeyCustody(shared: keeper, ring: ring, generation: generation, grace: grace, clock: clock)
            }
            let fresh = try KeyRing.generate(now: clock())
            if let generation = try await keeper.keep(fresh, over: nil) {
                return KeyCustody(shared: keeper, ring: fresh, generation: generation, grace: grace, clock: clock)
            }
        }
        throw CryptoError.contended("the shared key ring kept changing while this hub opened it")
    }

    /// Whether other hubs share this ring (and change it: `refresh` takes their changes).
    public var isShared: Bool { keeper != nil }

    /// The ring that seals and opens now.
    public var ring: KeyRing { state.withLock { sealingRing(&$0) } }

    /// The ring as kept: its current version is the newest, which may still be in its grace.
    public var keptRing: KeyRing { state.withLock { $0.kept } }

    private func sealingRing(_ state: inout State) -> KeyRing {
        if let changesAt = state.sealingChangesAt, clock() >= changesAt {
            (state.sealing, state.sealingChangesAt) = State.sealing(state.kept, grace: grace, now: clock())
        }
        return state.sealing
    }

    /// Runs `body` with a cipher over the current ring, counting its version as in use until `body` returns.
    public func sealing<T>(_ body: (PayloadCipher) async throws -> T) async rethrows -> T {
        let ring = state.withLock { state in
            let ring = sealingRing(&state)
            state.sealsInFlight[ring.current, default: 0] += 1
            return ring
        }
        defer { state.withLock { $0.sealsInFlight[ring.current, default: 1] -= 1 } }
        return try await body(PayloadCipher(keyRing: ring))
    }

    /// Adds a version and makes it current; returns the ring as kept.
    public func rotate(now: Date = Date()) async throws -> KeyRing {
        guard let keeper else {
            return try state.withLock { state in
                let rotated = try state.kept.rotated(now: now)
                try path.map { try rotated.write(to: $0) }
                state.replace(with: rotated, generation: nil, grace: grace, now: clock())
                return rotated
            }
        }
        for _ in 0..<5 {
            let (kept, generation) = state.withLock { ($0.kept, $0.generation) }
            let rotated = try kept.rotated(now: now)
            if let next = try await keeper.keep(rotated, over: generation) {
                adopt(rotated, generation: next)
                return rotated
            }
            try await refresh()
        }
        throw CryptoError.contended("the shared key ring kept changing during the rotation; rotate again")
    }

    /// Takes the shared ring as kept now, when another hub changed it (a check of the generation otherwise).
    public func refresh() async throws {
        guard let keeper, let (ring, generation) = try await keeper.kept(after: state.withLock { $0.generation }) else { return }
        adopt(ring, generation: generation)
    }

    private func adopt(_ ring: KeyRing, generation: Int64) {
        state.withLock { state in
            guard generation > (state.generation ?? 0) else { return }
            state.replace(with: ring, generation: generation, grace: grace, now: clock())
        }
    }

    /// Versions older than the one sealing now, which data keys may still use.
    public var oldVersions: Set<UInt32> {
        state.withLock { state in
            let current = sealingRing(&state).current
            return Set(state.kept.versionList.map(\.version).filter { $0 < current })
        }
    }

    /// Whether a seal under one of `versions` may still be on its way to the store.
    public func hasSealsInFlight(_ versions: Set<UInt32>) -> Bool {
        state.withLock { state in versions.contains { state.sealsInFlight[$0, default: 0] > 0 } }
    }

    /// Drops `versions` (never the current one). The caller has checked that no stored data key uses them
    /// and that no seal under them is in flight; a shared keeper checks the stored keys again as it keeps the
    /// change. False when the change was not kept (another hub changed the ring first, or a key still uses one).
    public func retire(_ versions: Set<UInt32>) async throws -> Bool {
        guard let keeper else {
            try state.withLock { state in
                let retired = state.kept.retiring(versions)
                try path.map { try retired.write(to: $0) }
                state.replace(with: retired, generation: nil, grace: grace, now: clock())
            }
            return true
        }
        let (kept, generation) = state.withLock { ($0.kept, $0.generation) }
        let retired = kept.retiring(versions)
        guard let next = try await keeper.keep(retired, over: generation) else {
            try await refresh()
            return false
        }
        adopt(retired, generation: next)
        return true
    }
}
