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
    var keyAssociatedData: [UInt8] { Array("liaison/dek/v1\n\(itemID)".utf8) }
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
        let dataKey = try SecureRandom.bytes(AESGCM.keySize)
        let ciphertext = try AESGCM.seal(payload, key: dataKey, associatedData: binding.payloadAssociatedData)
        return SealedPayload(wrappedKey: try keyRing.wrap(dataKey: dataKey, context: binding.keyAssociatedData), ciphertext: ciphertext)
    }

    public func open(_ sealed: SealedPayload, binding: PayloadBinding) throws -> [UInt8] {
        let dataKey = try keyRing.unwrap(sealed.wrappedKey, context: binding.keyAssociatedData)
        return try AESGCM.open(sealed.ciphertext, key: dataKey, associatedData: binding.payloadAssociatedData)
    }
}
