import Foundation
import LiaisonCore

/// What one reader may see of many items at one moment: the policy's answer, or read for the items its
/// agency holds a live grant for or a handed-over lead of (those read once, for the whole batch).
struct ReaderAccess {
    let policy: Policy
    let reader: Principal
    let now: Date
    /// Items the reader's agency reads beyond what the policy says.
    let beyondPolicy: Set<String>

    func of(_ item: Item) -> AccessDecision.Access {
        beyondPolicy.contains(item.id) ? .read : policy.access(of: reader, to: item.subject, at: now)
    }
}
