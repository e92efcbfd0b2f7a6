import LiaisonCore
import Synchronization

/// Items this hub read lately, by id, so that a metadata or payload read skips the store's read connection: a hop
/// to another thread and back and a query, 10–16% of such a read (`scripts/bench`, paired).
///
/// Nothing kept can go stale: an item's row never changes once stored, except the wrapped key of its sealed
/// metadata, which a key rotation rewraps (on any hub of the database), so items with sealed metadata (confidential
/// ones) are not kept. Items are never deleted; a restore makes a new data folder, started by a new hub. Misses
/// are not kept either (the item may be pushed next). Past `budget` bytes the cache starts again.
final class ItemRowCache: Sendable {
    private struct Kept {
        var items: [String: Item] = [:]
        var bytes = 0
    }
    private let kept = Mutex(Kept())
    private let budget: Int
    /// An item larger than this is read from the store each time: one with persons and tags at their limits takes
    /// about 100 KB, and a few such items would push the rest out.
    private let largestItem: Int

    init(budget: Int = 16 << 20, largestItem: Int = 64 << 10) {
        self.budget = budget
        self.largestItem = largestItem
    }

    /// The item, from the cache or else from `read` (the store), which then keeps it if it may.
    func item(id: String, reading read: (String) async throws -> Item?) async throws -> Item? {
        if let known = kept.withLock({ $0.items[id] }) { return known }
        guard let item = try await read(id) else { return nil }
        let bytes = Self.footprint(of: item)
        if item.sealedMetadata == nil, bytes <= largestItem {
            kept.withLock { kept in
                if kept.bytes + bytes > budget { kept = Kept() }
                if kept.items.updateValue(item, forKey: id) == nil { kept.bytes += bytes }
            }
        }
        return item
    }

    /// About what an item holds in memory: its texts, and a fixed share for the rest.
    static func footprint(of item: Item) -> Int {
        let texts = [item.id, item.kind, item.title, item.unit, item.owner, item.pushedBy, item.contentType, item.sha256, item.answers ?? ""]
        let lists = item.persons + item.tags
        return 256 + texts.reduce(0) { $0 + $1.utf8.count } + lists.reduce(0) { $0 + 16 + $1.utf8.count } + (item.seal?.count ?? 0)
    }
}
