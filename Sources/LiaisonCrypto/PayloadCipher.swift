public import Foundation
/// What a sealed payload is bound to: moving ciphertext to another item, owner or level breaks it.
public struct PayloadBinding: Sendable, Equatable {
    public let itemID: String
    public let owner: String
    public let level: String

    public init(itemID: String, owner: String, level: String) {
        self.itemID = itemID
        self.owner = owner
        self.level = level
    }

    var payloadAssociatedData: [UInt8] { Array("liaison/item/v1\n\(itemID)\n\(owner)\n\(level)".utf8) }
    var keyAssociatedData: [UInt8] { Self.keyAssociatedData(itemID: itemID) }
    static func keyAssociatedData(itemID: String) -> [UInt8] { Array("liaison/dek/v1\n\(itemID)".utf8) }
    var metadataAssociatedData: [UInt8] { Array("liaison/meta/v1\n\(itemID)\n\(owner)\n\(level)".utf8) }
}

/// A payload encrypted at rest: AES-256-GCM under a fresh data key, the key wrapped by the key ring.
public struct SealedPayload: Sendable, Equatable {
    public let wrappedKey: WrappedKey
    public let ciphertext: [UInt8]

    public init(wrappedKey: WrappedKey, ciphertext: [UInt8]) {
        self.wrappedKey = wrappedKey
        self.ciphertext = ciphertext
    }
}

/// Envelope encryption of item payloads at rest.
public struct PayloadCipher: Sendable {
    public let keyRing: KeyRing

    public init(keyRing: KeyRing) { self.keyRing = keyRing }

    public func seal(_ payload: some ContiguousBytes, binding: PayloadBinding) throws -> SealedPayload {
        try seal(payload, metadata: nil, binding: binding).payload
    }

    /// Seals the payload and, under the same data key, the metadata that would reveal content (title, persons, tags).
    public func seal(_ payload: some ContiguousBytes, metadata: [UInt8]?, binding: PayloadBinding) throws -> (payload: SealedPayload, metadata: [UInt8]?) {
        let dataKey = try SecureRandom.bytes(AESGCM.keySize)
        let ciphertext = try AESGCM.seal(payload, key: dataKey, associatedData: binding.payloadAssociatedData)
        let sealedMetadata = try metadata.map { try AESGCM.seal($0, key: dataKey, associatedData: binding.metadataAssociatedData) }
        return (SealedPayload(wrappedKey: try keyRing.wrap(dataKey: dataKey, context: binding.keyAssociatedData), ciphertext: ciphertext), sealedMetadata)
    }

    public func openMetadata(_ ciphertext: [UInt8], wrappedKey: WrappedKey, binding: PayloadBinding) throws -> [UInt8] {
        let dataKey = try keyRing.unwrap(wrappedKey, context: binding.keyAssociatedData)
        return try AESGCM.open(ciphertext, key: dataKey, associatedData: binding.metadataAssociatedData)
    }

    /// The item's data key, unwrapped and wrapped again under the ring's current version (key rotation).
    public func rewrap(_ wrapped: WrappedKey, itemID: String) throws -> WrappedKey {
        let context = PayloadBinding.keyAssociatedData(itemID: itemID)
        return try keyRing.wrap(dataKey: try keyRing.unwrap(wrapped, context: context), context: context)
    }

    public func open(_ sealed: SealedPayload, binding: PayloadBinding) throws -> [UInt8] {
        let dataKey = try keyRing.unwrap(sealed.wrappedKey, context: binding.keyAssociatedData)
        return try AESGCM.open(sealed.ciphertext, key: dataKey, associatedData: binding.payloadAssociatedData)
    }
}
