import LiaisonCore
import LiaisonStore

extension FeedStore {
    /// A principal's own events after `cursor`, oldest first, as a page of the feed reads them (`feedSlice`).
    func events(for principal: String, after cursor: Int64, limit: Int) async throws -> [StoredFeedEvent] {
        try await feedSlice(for: principal, after: cursor, limit: limit, sharedLimit: 1).own
    }
}
