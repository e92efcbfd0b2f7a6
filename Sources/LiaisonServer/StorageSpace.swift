import Foundation
import Synchronization

/// The free space under the data folder, so that pushes stop while some is left: the audit entries of
/// reads (and of refusals) still fit, and the hub keeps serving reads while it cannot take new items.
final class StorageSpace: Sendable {
    let directory: String
    /// Space kept free for the trail; a push that would leave less is refused with 503.
    let reserveBytes: Int
    private let sample = Mutex<(at: ContinuousClock.Instant, free: Int)?>(nil)
    /// statvfs is cheap, but not free; a quarter second is recent enough to stop a burst well before the disk is full.
    private let maximumAge: Duration = .milliseconds(250)

    init(directory: String, reserveBytes: Int) {
        self.directory = directory
        self.reserveBytes = reserveBytes
    }

    /// Whether a write of about `bytes` leaves the reserve free. A push is written twice (WAL, then the
    /// database at checkpoint), so it counts double. Unknown free space admits: the store's own error remains.
    func admits(bytes: Int) -> Bool {
        guard let free = currentFree() else { return true }
        let (needed, overflow) = bytes.multipliedReportingOverflow(by: 2)
        return !overflow && free - needed >= reserveBytes
    }

    private func currentFree() -> Int? {
        let now = ContinuousClock.now
        if let cached = sample.withLock({ $0 }), now - cached.at < maximumAge { return cached.free }
        guard let free = Self.freeBytes(at: directory) else { return nil }
        sample.withLock { $0 = (now, free) }
        return free
    }

    /// Bytes available to an unprivileged writer on the filesystem holding `path`.
    static func freeBytes(at path: String) -> Int? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        let (free, overflow) = Int(stats.f_bavail).multipliedReportingOverflow(by: Int(stats.f_frsize))
        return overflow ? Int.max : free
    }
}
