public import Foundation
import Synchronization

/// Keeps the hub's key ring while it serves: rotation adds a version, retirement drops versions no data key
/// uses any more. Every change is written to the ring's file before it takes effect in memory, so a crash
/// never leaves a data key wrapped under a version that only memory held.
///
/// Pushes seal inside `sealing`, which counts the version they wrap under until their write has committed:
/// a version is retired only when no seal under it is in flight, so an item written just after a rotation
/// cannot be left wrapped under a retired version.
public final class KeyCustody: Sendable {
    private struct State {
        var ring: KeyRing
        var sealsInFlight: [UInt32: Int] = [:]
    }

    private let state: Mutex<State>
    /// Where the ring lives; nil for a ring kept only in memory.
    public let path: String?

    public init(ring: KeyRing, path: String?) {
        state = Mutex(State(ring: ring))
        self.path = path
    }

    public var ring: KeyRing { state.withLock { $0.ring } }

    /// Runs `body` with a cipher over the current ring, counting its version as in use until `body` returns.
    public func sealing<T>(_ body: (PayloadCipher) async throws -> T) async rethrows -> T {
        let ring = state.withLock { state in
            state.sealsInFlight[state.ring.current, default: 0] += 1
            return state.ring
        }
        defer { state.withLock { $0.sealsInFlight[ring.current, default: 1] -= 1 } }
        return try await body(PayloadCipher(keyRing: ring))
    }

    /// Adds a version and makes it current; returns the new ring.
    public func rotate(now: Date = Date()) throws -> KeyRing {
        try state.withLock { state in
            let rotated = try state.ring.rotated(now: now)
            try path.map { try rotated.write(to: $0) }
            state.ring = rotated
            return rotated
        }
    }

    /// Versions other than the current one, which data keys may still use.
    public var oldVersions: Set<UInt32> {
        state.withLock { state in Set(state.ring.versionList.map(\.version)).subtracting([state.ring.current]) }
    }

    /// Whether a seal under one of `versions` may still be on its way to the store.
    public func hasSealsInFlight(_ versions: Set<UInt32>) -> Bool {
        state.withLock { state in versions.contains { state.sealsInFlight[$0, default: 0] > 0 } }
    }

    /// Drops `versions` (never the current one). The caller has checked that no stored data key uses them
    /// and that no seal under them is in flight.
    public func retire(_ versions: Set<UInt32>) throws {
        try state.withLock { state in
            let retired = state.ring.retiring(versions)
            try path.map { try retired.write(to: $0) }
            state.ring = retired
        }
    }
}
