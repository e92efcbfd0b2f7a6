import LiaisonCore
import Synchronization

/// Items this hub read lately, by id, each kept once its seal was checked, with its plain payload once that was
/// checked against the item's digest, so that a metadata or payload read skips the store's read connection (a hop
/// to another thread and back and a query, 10–16% of such a read) and the checks, and a listing skips the seal
/// check of a row equal to one kept (`scripts/bench`, paired).
///
/// Nothing kept can go stale: an item's row and payload never change once stored, except the wrapped keys of
/// sealed metadata and encrypted payloads, which a key rotation rewraps (on any hub of the database), so items with
/// sealed metadata (confidential ones) and encrypted payloads are not kept. Items are never deleted; a restore makes
/// a new data folder, started by a new hub. Misses are not kept either (the item may be pushed next). Past `budget`
/// bytes the cache starts again.
final class ItemRowCache: Sendable {
    private struct Kept {
        var items: [String: Item] = [:]
        var payloads: [String: [UInt8]] = [:]
        var bytes = 0
    }
    private let kept = Mutex(Kept())
    private let budget: Int
    /// An item or payload larger than this is read from the store each time: an item with persons and tags at
    /// their limits takes about 100 KB, and a few such would push the rest out.
    private let largest: Int

    init(budget: Int = 16 << 20, largest: Int = 64 << 10) {
        self.budget = budget
        self.largest = largest
    }

    /// The item, if kept: its seal was checked when it was kept.
    func item(id: String) -> Item? {
        kept.withLock { $0.items[id] }
    }

    /// Keeps an item whose seal the caller has just checked, if it may be kept.
    func keep(checked item: Item) {
        guard item.sealedMetadata == nil else { return }
        remember(Self.footprint(of: item)) { kept in kept.items.updateValue(item, forKey: item.id) == nil }
    }

    /// The plain payload of a kept item, if kept: it matched the item's digest when it was kept.
    func payload(of id: String) -> [UInt8]? {
        kept.withLock { $0.payloads[id] }
    }

    /// Keeps the plain payload of item `id`, which the caller has just checked against the item's digest, if the
    /// item is kept (so that both go together when the cache starts again).
    func keep(checkedPayload bytes: [UInt8], of id: String) {
        remember(bytes.count) { kept in
            guard kept.items[id] != nil else { return false }
            return kept.payloads.updateValue(bytes, forKey: id) == nil
        }
    }

    /// Runs `add` (true when it added something of `bytes`), making room first by starting again if need be.
    private func remember(_ bytes: Int, _ add: (inout Kept) -> Bool) {
        guard bytes <= largest else { return }
        kept.withLock { kept in
            if kept.bytes + bytes > budget { kept = Kept() }
            if add(&kept) { kept.bytes += bytes }
        }
    }

    /// About what an item holds in memory: its texts, and a fixed share for the rest.
    static func footprint(of item: Item) -> Int {
        let texts = [item.id, item.kind, item.title, item.unit, item.owner, item.pushedBy, item.contentType, item.sha256, item.answers ?? ""]
        let lists = item.persons + item.tags
        return 256 + texts.reduce(0) { $0 + $1.utf8.count } + lists.reduce(0) { $0 + 16 + $1.utf8.count } + (item.seal?.count ?? 0)
    }
}
