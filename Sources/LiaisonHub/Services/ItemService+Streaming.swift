import Foundation
import LiaisonCore
import LiaisonCrypto
import LiaisonStore

/// Pushes whose payload streams in (`POST /v1/items` with `application/octet-stream`): files of any size, with the hub
/// holding a few chunks of each at a time.
extension ItemService {
    /// Checks the item's fields before reading any of the payload, then keeps the payload in chunks as it arrives
    /// (`PayloadChunkWriter`), each written durably, sealed under the item's data key where the level keeps payloads
    /// encrypted; the item is stored, with its trail entry, once the last chunk is. A payload that fits in one chunk
    /// is kept in one piece, as a JSON push keeps it. Chunks of a push that fails are removed.
    public func pushStreamed<Body: AsyncSequence>(_ sent: PushRequest, payload body: Body, in context: HubContext) async throws -> PushReceipt
    where Body.Element == ArraySlice<UInt8> {
        if let encoding = sent.contentEncoding, encoding != "identity" {
            throw HubError.invalidField("content_encoding", "a streamed push takes its payload as it is, not \(encoding)",
                                        hint: "Stream the payload unsealed (mutual TLS protects it on the way), or push a payload sealed to the hub as JSON")
        }
        let (request, level) = try await admitted(sent, in: context)
        let ring = vault.cipher  // before the store is read (see withDataKey)
        let id = ids.next(at: context.now)
        let encrypted = context.policy.levels[level]?.payloadAtRest == .encrypted
        // One try under the current key version: a stream cannot be read twice (see sealedInsert).
        let (written, item) = try await vault.keys.sealing { cipher in
            let binding = PayloadBinding(itemID: id, owner: context.principal.agency.id, level: level.rawValue)
            var writer = PayloadChunkWriter(itemID: id, sealer: encrypted ? try cipher.chunkSealer(binding: binding) : nil, ring: cipher.keyRing,
                                            store: store, limit: limits.streamedPayloadBytes, time: context.now)
            do {
                for try await piece in body { try await writer.take(piece) }
                let whole = try await writer.finish()
                let item = newItem(request, level: level, id: id, sha256: writer.sha256(), size: writer.size, in: context)
                let kept: Item
                let payload: StoredPayload
                switch (whole, writer.sealer) {
                case (let bytes?, _) where encrypted:
                    (kept, payload) = try vault.encrypted(item, payload: bytes, with: cipher)
                case (let bytes?, _):
                    (kept, payload) = (vault.sealed(item), StoredPayload(bytes: bytes, wrappedKey: nil, keyVersion: nil))
                case (nil, let sealer?):
                    kept = try vault.encrypted(item, chunkedUnder: sealer)
                    payload = StoredPayload(bytes: [], wrappedKey: sealer.wrappedKey.sealed, keyVersion: sealer.wrappedKey.version, chunks: writer.stored)
                case (nil, nil):
                    (kept, payload) = (vault.sealed(item), StoredPayload(bytes: [], wrappedKey: nil, keyVersion: nil, chunks: writer.stored))
                }
                let written = try await insertPushed(item, kept: kept, payload: payload, request: request, in: context)
                if case .created = written.outcome {} else if writer.stored > 0 {
                    try? await store.discardChunks(of: id)  // a replay or a conflict: the first push's item stands
                }
                return (written, item)
            } catch {
                if await writer.abandon() { try? await store.discardChunks(of: id) }
                throw error
            }
        }
        return try receipt(written, item: item, request: request, ring)
    }
}
