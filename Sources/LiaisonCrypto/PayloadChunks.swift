/// Which chunk of which item's payload a sealed or tagged chunk is: bound into each chunk's authentication, so
/// that chunks cannot be moved to another item, reordered, dropped, or cut short at a chunk boundary (only the
/// last chunk says it is the last).
public enum PayloadChunk {
    /// The plaintext size of every chunk but the last of a streamed payload.
    public static let size = 1 << 20

    public static func header(itemID: String, index: Int, last: Bool) -> [UInt8] {
        Array("liaison/chunk/v1\n\(itemID)\n\(index)\n\(last ? "last" : "more")\n".utf8)
    }
}

/// Seals a streamed payload chunk by chunk under one fresh data key (AES-256-GCM, each chunk with its own nonce),
/// and the item's content metadata under the same key, as `PayloadCipher.seal` does for a payload in one piece.
public struct ChunkSealer: Sendable {
    public let wrappedKey: WrappedKey
    let dataKey: [UInt8]
    let binding: PayloadBinding

    /// Seals chunk `index` into `box`, whose storage is reused when the caller holds it alone (see
    /// `AESGCM.seal(_:key:associatedData:into:)`).
    public func seal(_ chunk: [UInt8], index: Int, last: Bool, into box: inout [UInt8]) throws {
        try AESGCM.seal(chunk, key: dataKey, associatedData: binding.payloadAssociatedData + PayloadChunk.header(itemID: binding.itemID, index: index, last: last),
                        into: &box)
    }

    public func sealMetadata(_ metadata: [UInt8]) throws -> [UInt8] {
        try AESGCM.seal(metadata, key: dataKey, associatedData: binding.metadataAssociatedData)
    }
}

/// Opens the chunks a `ChunkSealer` sealed, each one checked before its plaintext is returned.
public struct ChunkOpener: Sendable {
    let dataKey: [UInt8]
    let binding: PayloadBinding

    public func open(_ sealed: [UInt8], index: Int, last: Bool) throws -> [UInt8] {
        try AESGCM.open(sealed, key: dataKey, associatedData: binding.payloadAssociatedData + PayloadChunk.header(itemID: binding.itemID, index: index, last: last))
    }
}

extension PayloadCipher {
    /// A sealer under a fresh data key, wrapped by the ring's current version.
    public func chunkSealer(binding: PayloadBinding) throws -> ChunkSealer {
        let dataKey = try SecureRandom.bytes(AESGCM.keySize)
        return ChunkSealer(wrappedKey: try keyRing.wrap(dataKey: dataKey, context: binding.keyAssociatedData), dataKey: dataKey, binding: binding)
    }

    public func chunkOpener(_ wrappedKey: WrappedKey, binding: PayloadBinding) throws -> ChunkOpener {
        ChunkOpener(dataKey: try keyRing.unwrap(wrappedKey, context: binding.keyAssociatedData), binding: binding)
    }
}
