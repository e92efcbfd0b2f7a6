import Foundation
import LiaisonCore
import LiaisonCrypto
import LiaisonStore
import Logging

/// Where items meet the key ring: sealing what an encrypted level keeps sealed, checking that a stored row is
/// the one pushed, and opening what a reader may read. Every service that shows an item goes through here.
struct ItemVault: Sendable {
    /// The key ring, which rotation changes while the hub serves.
    let keys: KeyCustody
    let logger: Logger

    /// A cipher over the key ring as it is now. Take it before reading a row (see `withDataKey`).
    var cipher: PayloadCipher { PayloadCipher(keyRing: keys.ring) }

    /// The item with its sealed title, persons and tags opened, once its seal shows the row is as pushed; an
    /// integrity error otherwise. `cipher` is the key ring as it was before the item was read (see `withDataKey`).
    func opened(_ item: Item, _ cipher: PayloadCipher) throws -> Item {
        try checkSeal(item)
        return try openedMetadata(of: item, cipher)
    }

    /// The item with its sealed title, persons and tags opened, for an item whose seal the caller has checked.
    func openedMetadata(of item: Item, _ cipher: PayloadCipher) throws -> Item {
        guard let sealed = item.sealedMetadata else { return item }
        do {
            let bytes = try withDataKey(cipher) {
                try $0.openMetadata(sealed.ciphertext, wrappedKey: WrappedKey(version: sealed.keyVersion, sealed: sealed.wrappedKey), binding: binding(of: item))
            }
            let content = try ContentMetadata(json: bytes)
            return item.with(title: content.title, persons: content.persons, tags: content.tags, sealedMetadata: nil)
        } catch {
            logger.critical("stored metadata failed authentication", metadata: ["item": "\(item.id)", "error": "\(error)"])
            throw HubError.damaged(item.id)
        }
    }

    /// What a reader is shown of an item: opened when readable, a stub otherwise; marked damaged, and never
    /// opened, when its row is not as pushed (a stub's level and owner come from the row too). `sealChecked`: the
    /// caller knows this very row passed its seal check.
    func shown(_ item: Item, as access: AccessDecision.Access, _ cipher: PayloadCipher, sealChecked: Bool = false) -> VisibleItem {
        do {
            if !sealChecked { try checkSeal(item) }
            if access == .read { return VisibleItem(item: try openedMetadata(of: item, cipher), access: .read) }
            return VisibleItem(item: item, access: access)
        } catch {
            return VisibleItem(item: item, access: access, damaged: true)
        }
    }

    /// Whether the stored row is the one pushed: its seal binds every field (`Item.sealInput`), so an edit of the
    /// title, level, owner, unit or digest in the database is caught here, before anything of it is shown.
    func checkSeal(_ item: Item) throws {
        guard let seal = item.seal, HMACSHA256.equal(seal, keys.ring.itemSeal(item.sealInput())) else {
            logger.critical("a stored item does not match its seal", metadata: ["item": "\(item.id)"])
            throw HubError.damaged(item.id)
        }
    }

    /// The blind-index marks of the persons and tags an item names (`item` as pushed or opened, never sealed).
    func marks(of item: Item) -> [String] {
        marks(Correlation.Sort.person, item.persons) + marks(Correlation.Sort.tag, item.tags)
    }

    func marks(_ sort: Correlation.Sort, _ names: [String]) -> [String] {
        let ring = keys.ring
        return names.compactMap { Correlation.markInput(sort, $0).map(ring.blindMark) }
    }

    /// The item with its seal, ready to store.
    func sealed(_ item: Item) -> Item {
        var kept = item
        kept.seal = keys.ring.itemSeal(item.sealInput())
        return kept
    }

    /// The item as an encrypted level keeps it, and its payload: title, persons and tags, which would reveal
    /// content, sealed with the payload under its data key; then the row sealed as a whole.
    func encrypted(_ item: Item, payload: [UInt8], with cipher: PayloadCipher) throws -> (Item, StoredPayload) {
        let metadata = ContentMetadata(title: item.title, persons: item.persons, tags: item.tags).json
        let sealed = try cipher.seal(payload, metadata: metadata, binding: binding(of: item))
        let key = sealed.payload.wrappedKey
        let kept = item.with(title: "", persons: [], tags: [],
                             sealedMetadata: SealedMetadata(ciphertext: sealed.metadata ?? [], wrappedKey: key.sealed, keyVersion: key.version))
        return (self.sealed(kept), StoredPayload(bytes: sealed.payload.ciphertext, wrappedKey: key.sealed, keyVersion: key.version))
    }

    /// The plaintext of a stored payload: opened under its data key, or a plain one checked against the item's
    /// sealed digest. An integrity error when either fails.
    func plaintext(of stored: StoredPayload, for item: Item, _ cipher: PayloadCipher) throws -> [UInt8] {
        guard let wrapped = stored.wrappedKey, let version = stored.keyVersion else {
            // A plain payload is bound to its item through the sealed digest.
            guard Digest.sha256Hex(stored.bytes) == item.sha256 else {
                logger.critical("a stored payload does not match its item's digest", metadata: ["item": "\(item.id)"])
                throw HubError.damaged(item.id)
            }
            return stored.bytes
        }
        do {
            return try withDataKey(cipher) {
                try $0.open(SealedPayload(wrappedKey: WrappedKey(version: version, sealed: wrapped), ciphertext: stored.bytes), binding: binding(of: item))
            }
        } catch {
            logger.critical("stored ciphertext failed authentication", metadata: ["item": "\(item.id)", "error": "\(error)"])
            throw HubError.damaged(item.id)
        }
    }

    /// The plaintext of a payload kept in chunks, streamed, each chunk checked before it is given (`PayloadStream.chunks`).
    func plaintextStream(of stored: StoredPayload, chunks: Int, for item: Item, from store: any PayloadChunkStore, _ cipher: PayloadCipher) throws -> PayloadStream {
        var opener: ChunkOpener?
        if let wrapped = stored.wrappedKey {
            do {
                guard let version = stored.keyVersion else { throw CryptoError.malformed("a wrapped data key without its version") }
                opener = try withDataKey(cipher) { try $0.chunkOpener(WrappedKey(version: version, sealed: wrapped), binding: binding(of: item)) }
            } catch {
                logger.critical("a stored data key failed authentication", metadata: ["item": "\(item.id)", "error": "\(error)"])
                throw HubError.damaged(item.id)
            }
        }
        let logger = self.logger
        return PayloadStream.chunks(of: item, count: chunks, opener: opener, ring: keys.ring, store: store) { problem in
            logger.critical("\(problem)", metadata: ["item": "\(item.id)"])
        }
    }

    /// The item as an encrypted level keeps it when its payload is streamed in chunks: title, persons and tags sealed
    /// under the chunks' data key; then the row sealed as a whole.
    func encrypted(_ item: Item, chunkedUnder sealer: ChunkSealer) throws -> Item {
        let metadata = ContentMetadata(title: item.title, persons: item.persons, tags: item.tags).json
        let key = sealer.wrappedKey
        return sealed(item.with(title: "", persons: [], tags: [],
                                sealedMetadata: SealedMetadata(ciphertext: try sealer.sealMetadata(metadata), wrappedKey: key.sealed, keyVersion: key.version)))
    }

    /// Runs `body` with `cipher`, a snapshot of the ring taken before the row was read, which holds every
    /// version the row could have been wrapped under then (a version is retired only once no row uses it).
    /// If a rewrap moved the row to a version added after the snapshot, the ring as it is now holds that one.
    func withDataKey<T>(_ cipher: PayloadCipher, _ body: (PayloadCipher) throws -> T) throws -> T {
        do {
            return try body(cipher)
        } catch CryptoError.unknownKeyVersion {
            return try body(self.cipher)
        }
    }

    func binding(of item: Item) -> PayloadBinding {
        PayloadBinding(itemID: item.id, owner: item.owner, level: item.classification.rawValue)
    }
}

