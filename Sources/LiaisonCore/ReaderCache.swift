public import Foundation
import Synchronization

/// The principals the policy lets read items of one subject, remembered per subject and UTC day: the only
/// relationship that depends on time (an inspection team's window) opens and closes on day boundaries, so one
/// answer holds for the whole day. A push then costs one lookup, however many principals the policy declares.
final class ReaderCache: Sendable {
    private struct Key: Hashable {
        let subject: ItemSubject
        let day: Int64
    }
    private let answers = Mutex<[Key: [String]]>([:])
    /// Past this many subjects and days, the cache starts again (a policy has few subjects; days move on).
    private let capacity = 4_096

    func readers(of subject: ItemSubject, at time: Date, _ compute: () -> [String]) -> [String] {
        let key = Key(subject: subject, day: Int64((time.timeIntervalSince1970 / 86_400).rounded(.down)))
        if let known = answers.withLock({ $0[key] }) { return known }
        let computed = compute()
        answers.withLock { answers in
            if answers.count >= capacity { answers.removeAll(keepingCapacity: true) }
            answers[key] = computed
        }
        return computed
    }
}

extension Policy {
    /// Every declared principal that may read an item of `subject` at `time` under the policy alone (no grants), sorted.
    public func readers(of subject: ItemSubject, at time: Date) -> [String] {
        readerCache.readers(of: subject, at: time) {
            principalIDs.filter { id in principals[id].map { access(of: $0, to: subject, at: time) == .read } ?? false }
        }
    }
}
