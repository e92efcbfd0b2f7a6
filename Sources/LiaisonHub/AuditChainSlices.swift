import LiaisonStore

/// One answer of the trail's compact form, read from the store a slice at a time while it is sent. The hub holds
/// the slice being sent and the next one, read meanwhile, never the whole answer: a 30 MB buffer per answer cost
/// more in fresh pages the kernel zero-fills than filling it did, and made the first byte wait for the last entry.
public struct AuditChainSlices: AsyncSequence, Sendable {
    public typealias Element = ArraySlice<UInt8>
    let store: any AuditStore
    /// The answer is the entries after `after` through `through`.
    let after: Int64
    let through: Int64
    /// About 300 KB of the compact form.
    static let entriesPerSlice: Int64 = 1_000

    public func makeAsyncIterator() -> Iterator { Iterator(store: store, unread: after, through: through) }

    public struct Iterator: AsyncIteratorProtocol {
        let store: any AuditStore
        /// The entries after this one are still to be read.
        var unread: Int64
        let through: Int64
        var reading: Task<[UInt8], any Error>?

        public mutating func next() async throws -> ArraySlice<UInt8>? {
            if reading == nil { reading = read() }
            guard let current = reading else { return nil }
            reading = read()
            return try await current.value[...]
        }

        /// Starts reading the next slice, if any is left.
        private mutating func read() -> Task<[UInt8], any Error>? {
            guard unread < through else { return nil }
            let (store, after, limit) = (self.store, unread, Int(Swift.min(AuditChainSlices.entriesPerSlice, through - unread)))
            unread += Int64(limit)
            return Task { try await store.auditChain(after: after, limit: limit).text }
        }
    }
}
