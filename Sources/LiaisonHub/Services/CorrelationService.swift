import Foundation
public import LiaisonCore
import LiaisonStore

/// The items that share a person or tag with one item, for one reader.
public struct RelatedItems: Sendable {
    /// An item the reader may read, with the names it shares (the reader may read both, so may see them).
    public struct Readable: Sendable {
        public let item: VisibleItem
        public let persons: [String]
        public let tags: [String]
    }
    public let readable: [Readable]
    /// Items the reader sees only as withheld stubs: which name they share is not said.
    public let withheld: [VisibleItem]
    /// Items the reader may not see at all but could ask for access to, counted per level.
    public let unseen: [Classification: Int]
}

/// Where one person appears for one reader.
public struct PersonAppearances: Sendable {
    public let readable: [VisibleItem]
    /// How many more items, which the reader sees only as withheld stubs, name the person.
    public let withheld: Int
}

/// Correlation inside the tiers: the blind index (`CorrelationStore`) brings together the items that name one
/// person or tag, whoever pushed them, and each reader is shown only what the policy lets it see of them.
public struct CorrelationService: Sendable {
    let store: any CorrelationStore
    let items: any ItemStore
    let itemService: ItemService
    let access: AccessResolver
    let vault: ItemVault
    /// How many related items one answer looks at, newest first.
    static let scanned = 500

    /// The items that share a person or tag with `id`, which the reader must be able to read.
    public func related(to id: String, in context: HubContext) async throws -> RelatedItems {
        try await context.traced(.relatedItems, targets: [id]) {
            let base = try await itemService.visibleItem(id: id, in: context)
            guard base.access == .read else {
                throw HubError(.forbidden, code: "not_readable", message: "you see only a withheld stub of item \(id), so not what it names",
                               hint: "Ask for access to it (liaison request --items \(id) --reason ... --for 7d); related items are shown for items you can read")
            }
            let marks = try await store.marks(of: id)
            var found = try await store.items(marked: marks, limit: Self.scanned + 1)
            found[id] = nil
            let cipher = vault.cipher
            let candidates = try await items.items(ids: found.keys.sorted(by: >))
            let accessNow = try await access.readerAccess(to: candidates, in: context)
            var readable: [RelatedItems.Readable] = []
            var withheld: [VisibleItem] = []
            var unseen: [Classification: Int] = [:]
            for item in candidates {
                let shared = found[item.id] ?? []
                switch accessNow.of(item) {
                case .read:
                    // A row that fails its seal is shown as the damaged stub it is, naming nothing.
                    let shown = vault.shown(item, as: .read, cipher)
                    let (persons, tags) = shown.damaged ? ([], []) : (shown.item.persons, shown.item.tags)
                    readable.append(RelatedItems.Readable(item: shown, persons: persons.filter { sharedName(.person, $0, shared) },
                                                          tags: tags.filter { sharedName(.tag, $0, shared) }))
                case .withheld:
                    withheld.append(vault.shown(item, as: .withheld, cipher))
                case .hidden:
                    // Counted only where the reader could ask for it: otherwise it is not even said to exist.
                    guard !context.policy.eligibleApprovers(for: item.subject, forRequestBy: context.principal.agency.id, at: context.now).isEmpty else { continue }
                    unseen[item.classification, default: 0] += 1
                }
            }
            try await context.record(.relatedItems, targets: [id] + readable.map(\.item.item.id) + withheld.map(\.item.id), unit: base.item.unit,
                                     detail: ["readable": String(readable.count), "withheld": String(withheld.count), "unseen": String(unseen.values.reduce(0, +))])
            return RelatedItems(readable: readable, withheld: withheld, unseen: unseen)
        }
    }

    /// The items naming `name` that the reader may read, and how many more it sees withheld.
    public func person(_ name: String, in context: HubContext) async throws -> PersonAppearances {
        try await context.traced(.findPerson) {
            // No longer than a pushed item's person may be.
            guard ItemService.fits(name, ItemService.nameCharacters) else {
                throw HubError.invalidField("name", "the name is longer than \(ItemService.nameCharacters) characters", hint: "Give the person's name as items write it, e.g. 张三")
            }
            guard let mark = vault.marks(.person, [name]).first else {
                throw HubError.invalidField("name", "the name is empty once white space is removed", hint: "Give the person's name, e.g. 张三")
            }
            let found = try await store.items(marked: [mark], limit: Self.scanned)
            let cipher = vault.cipher
            let candidates = try await items.items(ids: found.keys.sorted(by: >))
            let accessNow = try await access.readerAccess(to: candidates, in: context)
            var readable: [VisibleItem] = []
            var withheld = 0
            for item in candidates {
                switch accessNow.of(item) {
                case .read: readable.append(vault.shown(item, as: .read, cipher))
                case .withheld: withheld += 1
                case .hidden: continue
                }
            }
            // The trail keeps the name's mark, not the name: an auditor holding the ring can tell whom was asked about.
            try await context.record(.findPerson, targets: readable.map(\.item.id), detail: ["mark": mark, "readable": String(readable.count), "withheld": String(withheld)])
            return PersonAppearances(readable: readable, withheld: withheld)
        }
    }

    /// Marks the items stored before the index existed (their persons and tags opened under the ring); run at start.
    /// Returns how many were marked.
    public func markEarlierItems() async throws -> Int {
        var marked = 0
        let cipher = vault.cipher
        while true {
            let ids = try await store.unmarkedItems(limit: 200)
            guard !ids.isEmpty else { return marked }
            var marks: [String: [String]] = [:]
            for item in try await items.items(ids: ids) {
                // A row that fails its seal (logged as critical by the vault) is left unmarked rather than stop the hub.
                marks[item.id] = (try? vault.opened(item, cipher)).map(vault.marks(of:)) ?? []
            }
            for id in ids where marks[id] == nil { marks[id] = [] }
            try await store.addMarks(marks)
            marked += ids.count
        }
    }

    private func sharedName(_ sort: Correlation.Sort, _ name: String, _ shared: Set<String>) -> Bool {
        vault.marks(sort, [name]).first.map(shared.contains) ?? false
    }
}
