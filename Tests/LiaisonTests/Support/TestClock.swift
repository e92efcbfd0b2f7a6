import Foundation
import Synchronization

/// A clock the test moves by hand: no sleeping to reach a time.
final class TestClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date = TestClock.insideWindow) { current = Mutex(start) }

    var now: Date { current.withLock { $0 } }
    func set(_ date: Date) { current.withLock { $0 = date } }
    func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
    var function: @Sendable () -> Date { { self.now } }

    /// Inside inspection-2's window on transport-bureau (2026-11-01 to 2027-12-31).
    static let insideWindow = DateWindow.dayForTests("2027-01-15")
    /// After that window has closed.
    static let afterWindow = DateWindow.dayForTests("2028-06-01")
    /// Before it opens.
    static let beforeWindow = DateWindow.dayForTests("2026-10-01")
}

import LiaisonCore

extension DateWindow {
    static func dayForTests(_ text: String) -> Date { DateWindow.day(text)!.addingTimeInterval(12 * 3600) }
}
