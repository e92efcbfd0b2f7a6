public import LiaisonCrypto
public import LiaisonStore

/// The key ring several hubs share through their database, sealed under the master key they all read: the
/// database holds only the sealed ring, so neither a copy of it nor its administrator opens an item.
public struct DatabaseKeyRing: KeyRingKeeper {
    let store: any KeyRingStore
    let master: MasterKey

    public init(store: any KeyRingStore, master: MasterKey) {
        self.store = store
        self.master = master
    }

    public func kept(after generation: Int64?) async throws -> (ring: KeyRing, generation: Int64)? {
        guard let kept = try await store.keptKeyRing(after: generation) else { return nil }
        do {
            return (try master.open(kept.sealed), kept.generation)
        } catch {
            throw CryptoError.malformed("the master key does not open the key ring kept in the database: every hub of one database needs the same master key")
        }
    }

    public func keep(_ ring: KeyRing, over generation: Int64?) async throws -> Int64? {
        let next = (generation ?? 0) + 1
        let kept = KeptKeyRing(generation: next, versions: ring.versionList.map(\.version), sealed: try master.seal(ring))
        return try await store.keepKeyRing(kept, over: generation) ? next : nil
    }
}
