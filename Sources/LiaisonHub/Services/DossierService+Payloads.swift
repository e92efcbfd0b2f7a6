import Foundation
import LiaisonCore
public import LiaisonCrypto
import LiaisonStore
import Synchronization

/// A dossier's payloads in one answer: the tar stream `POST /v1/dossiers/{id}/payloads` sends, which `tar -x` unpacks
/// and `liaison dossier pull` reads as it arrives. One request instead of one per item: 3,500 small items took two
/// seconds one by one, each a round trip and a trail entry of its own.
extension DossierService {
    /// The most a payload may weigh to travel in a bundle: one chunk (`PayloadChunk.size`). Every payload up to it is
    /// kept in one piece, so its size (and that of its envelope) is known before it is read; larger ones go alone.
    public static let bundledPayloadLimit = PayloadChunk.size
    /// A slice of the answer is read, opened, sealed and recorded together: up to 64 items and 1 MiB of payloads, so
    /// that an answer holds about what a streamed payload's does (a slice sent and the next made), however slowly it is read.
    static let itemsPerSlice = 64
    static let bytesPerSlice = 1 << 20

    /// The payloads of the dossier's items the viewer may read now, as a tar archive: each file named by its item
    /// (`PayloadFileName.bundled`), confidential ones as CMS sealed to `certificate`. `asked` names the items wanted,
    /// all of them readable now, in the dossier and within `bundledPayloadLimit`; nil takes every readable item within
    /// it. Each slice's reads are recorded in the trail before its bytes leave.
    public func payloads(of id: String, items asked: [String]?, presenting certificate: X509Certificate?, in context: HubContext) async throws -> SlicedAnswer {
        try await context.traced(.pullDossier, targets: [id]) {
            let dossier = try await visibleDossier(id: id, in: context)
            let accessNow = try await access.readerAccess(in: context)
            let limit = Self.bundledPayloadLimit
            var chosen: [Item]
            if let asked {
                var seen: Set<String> = []
                let distinct = asked.filter { seen.insert($0).inserted }
                let members = Set(dossier.itemIDs)
                if let stranger = distinct.first(where: { !members.contains($0) }) {
                    throw HubError.invalidField("items", "item \(stranger) is not in dossier \(id)", hint: "Ask only for items its manifest (GET /v1/dossiers/\(id)) lists")
                }
                chosen = try await items.items(ids: distinct)
                let withheld = chosen.filter { accessNow.of($0) != .read }.map(\.id)
                guard withheld.isEmpty else {
                    let named = withheld.prefix(5).joined(separator: ", ") + (withheld.count > 5 ? " and \(withheld.count - 5) more" : "")
                    throw HubError(.forbidden, code: "forbidden", message: "\(withheld.count) of the items asked for are withheld from you now: \(named)",
                                   hint: "Read the dossier again (GET /v1/dossiers/\(id)): its manifest says which items you may read now")
                }
                if let large = chosen.first(where: { $0.size > limit }) {
                    throw HubError.invalidField("items", "item \(large.id) is larger (\(large.size) bytes) than the \(limit) bytes a payload may have in a bundle",
                                                hint: "Fetch it alone: GET /v1/items/\(large.id)/payload (`liaison get \(large.id) -o FILE`)")
                }
                for item in chosen { try vault.checkSeal(item) }
            } else {
                // Damaged items are flagged in the manifest and left out here, as larger ones are.
                chosen = try await items.items(ids: dossier.itemIDs).filter { item in
                    accessNow.of(item) == .read && item.size <= limit && (try? vault.checkSeal(item)) != nil
                }
            }
            // Refused before any byte leaves when a level the policy keeps encrypted is among them (what a
            // payload is stored as was decided at its push, so the slice checks again).
            if chosen.contains(where: { context.policy.rule(for: $0.subject)?.payloadAtRest == .encrypted }) {
                _ = try ItemService.addressable(certificate, sealing: "dossier \(id) holds confidential payloads, each")
            }
            let slices = Self.slices(of: chosen)
            let leftOut = LeftOut()
            let order = chosen.map(\.id)
            var answer = SlicedAnswer(count: slices.count + 1) { index in
                guard index < slices.count else { return Self.leftOutList(leftOut.ids.withLock { $0 }, in: order, at: context.now) + TarArchive.end }
                return try await bundle(slices[index], of: dossier, for: certificate, in: context, leftOut: leftOut)
            }
            answer.lastAfterTheRest = true
            // A slice's payloads, and their tar headers and envelopes (a few KiB each).
            let largest = slices.map { $0.reduce(0) { $0 + $1.size } }.max() ?? 0
            return try answer.held(in: answers, slice: largest + Self.itemsPerSlice * 2048, for: context.principal.id)
        }
    }

    /// The items cut, in order, into slices of at most `itemsPerSlice` items and `bytesPerSlice` bytes of payload.
    static func slices(of items: [Item]) -> [[Item]] {
        var slices: [[Item]] = []
        var current: [Item] = []
        var bytes = 0
        for item in items {
            if !current.isEmpty, current.count == itemsPerSlice || bytes + item.size > bytesPerSlice {
                slices.append(current)
                current = []
                bytes = 0
            }
            current.append(item)
            bytes += item.size
        }
        if !current.isEmpty { slices.append(current) }
        return slices
    }

    /// The ids of the payloads the slices left out, as they are made.
    final class LeftOut: Sendable {
        let ids = Mutex<Set<String>>([])
    }

    /// The archive's last file (`PayloadFileName.leftOut`) when payloads were left out, naming them in the dossier's order.
    static func leftOutList(_ ids: Set<String>, in order: [String], at time: Date) -> [UInt8] {
        guard !ids.isEmpty else { return [] }
        let text = "The payloads of these items failed the hub's integrity check and are not in this archive; "
            + "`liaison get ID` (GET /v1/items/ID/payload) says more, and the commission's administrators have it in the hub's log:\n"
            + order.filter(ids.contains).map { $0 + "\n" }.joined()
        var out: [UInt8] = []
        TarArchive.append(file: PayloadFileName.leftOut, bytes: Array(text.utf8), mtime: Int64(time.timeIntervalSince1970), to: &out)
        return out
    }

    /// One slice of the archive: the items' payloads read together, opened, sealed to the reader where they were kept
    /// encrypted, and their reads recorded (durable before the slice is sent).
    func bundle(_ slice: [Item], of dossier: Dossier, for certificate: X509Certificate?, in context: HubContext, leftOut: LeftOut) async throws -> [UInt8] {
        let cipher = vault.cipher  // before the payloads are read (see ItemVault.withDataKey)
        let stored = try await items.payloads(ids: slice.map(\.id))
        var out: [UInt8] = []
        out.reserveCapacity(slice.reduce(0) { $0 + $1.size + 2 * TarArchive.block })
        var sent: [String] = []
        var sealed = 0
        for item in slice {
            let bytes: [UInt8]
            let encrypted: Bool
            do {
                guard let payload = stored[item.id], payload.chunks == nil else { throw HubError.damaged(item.id) }
                let plaintext = try vault.plaintext(of: payload, for: item, cipher)
                encrypted = payload.wrappedKey != nil
                bytes = encrypted ? try CMSEnvelope.seal(plaintext, to: try ItemService.addressable(certificate, sealing: "item \(item.id)")) : plaintext
            } catch let error as HubError where error.kind == .integrity {
                // Left out, and the rest sent: the archive's last file names it, and GET /v1/items/{id}/payload says why
                // (the vault has logged it).
                _ = leftOut.ids.withLock { $0.insert(item.id) }
                continue
            }
            if encrypted { sealed += 1 }
            sent.append(item.id)
            TarArchive.append(file: PayloadFileName.bundled(id: item.id, contentType: item.contentType, sealed: encrypted), bytes: bytes,
                              mtime: Int64(item.createdAt.timeIntervalSince1970), to: &out)
        }
        var detail = ["items": String(sent.count), "sealed": String(sealed)]
        if sent.count < slice.count { detail["damaged"] = String(slice.count - sent.count) }
        try await context.record(.pullDossier, targets: [dossier.id] + sent, unit: dossier.unit, detail: detail)
        return out
    }
}
