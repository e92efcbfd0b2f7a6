import Foundation
import LiaisonCore
public import LiaisonCrypto
import LiaisonStore
import Logging

/// One key-ring version and how many stored data keys it still wraps.
public struct KeyVersionStatus: Sendable, Equatable {
    public let version: UInt32
    public let createdAt: String
    public let dataKeys: Int
}

public struct KeyRingStatus: Sendable, Equatable {
    public let current: UInt32
    public let versions: [KeyVersionStatus]
}

/// Key rotation: a new key-encryption key version, then a background rewrap of every data key under it,
/// then retirement of versions no data key uses. Items stay readable throughout (see `ItemVault.withDataKey`).
public struct KeyService: Sendable {
    let store: any DataKeyStore
    let vault: ItemVault
    let trail: AuditTrail
    let logger: Logger
    var keys: KeyCustody { vault.keys }
    /// The key ring as it is now.
    public var ring: KeyRing { keys.ring }

    /// Whether the ring holds versions older than the current one (an in-memory check: rotation is not finished).
    public var hasOldVersions: Bool { !keys.oldVersions.isEmpty }

    public func status(in context: HubContext) async throws -> KeyRingStatus {
        try await context.traced(.getKeyRing) {
            try requireKeyAdministrator(context.principal)
            let status = try await status()
            try await context.record(.getKeyRing, detail: ["current": String(status.current)])
            return status
        }
    }

    /// Adds a version and makes it current; the rewrap runs in the background (`KeyRewrapping`).
    public func rotate(in context: HubContext) async throws -> KeyRingStatus {
        try await context.traced(.rotateKeys) {
            let caller = context.principal
            try requireKeyAdministrator(caller)
            // Counted before the rotation: the answer says what there is to rewrap, whatever the background rewrap has done by then.
            let counts = try await store.dataKeyCounts()
            let ring = try await keys.rotate(now: context.now)
            try await context.record(.rotateKeys, detail: ["version": String(ring.current)])
            logger.notice("key ring rotated", metadata: ["version": "\(ring.current)", "by": "\(caller.id)"])
            return describe(ring, counts: counts)
        }
    }

    /// The ring as kept (its current version the newest, which a shared ring seals under once its grace is over).
    public func status() async throws -> KeyRingStatus {
        describe(keys.keptRing, counts: try await store.dataKeyCounts())
    }

    /// Whether other hubs share the ring through the database.
    public var isShared: Bool { keys.isShared }

    /// Takes a shared ring's changes made by other hubs.
    public func refresh() async throws {
        try await keys.refresh()
    }

    func describe(_ ring: KeyRing, counts: [UInt32: Int]) -> KeyRingStatus {
        KeyRingStatus(current: ring.current, versions: ring.versionList.map {
            KeyVersionStatus(version: $0.version, createdAt: $0.createdAt, dataKeys: counts[$0.version] ?? 0)
        })
    }

    /// Rewraps up to `batch` data keys still under an older version; returns how many were rewrapped (0 when none is left).
    public func rewrapDataKeys(batch: Int = 256) async throws -> Int {
        try await keys.sealing { cipher in
            let stale = try await store.dataKeys(notUnder: cipher.keyRing.current, limit: batch)
            guard !stale.isEmpty else { return 0 }
            var rewraps: [DataKeyRewrap] = []
            for key in stale {
                do {
                    let wrapped = try vault.withDataKey(cipher) { try $0.rewrap(WrappedKey(version: key.version, sealed: key.wrappedKey), itemID: key.itemID) }
                    rewraps.append(DataKeyRewrap(itemID: key.itemID, previousVersion: key.version, version: wrapped.version, wrappedKey: wrapped.sealed))
                } catch {
                    // Left as it is: its version stays in the ring, so nothing readable before becomes unreadable.
                    logger.critical("a stored data key failed authentication; it cannot be rewrapped", metadata: ["item": "\(key.itemID)", "error": "\(error)"])
                }
            }
            guard !rewraps.isEmpty else { return 0 }
            return try await store.replaceDataKeys(rewraps)
        }
    }

    /// Retires every old version that no stored data key uses and no seal in flight is using; returns them.
    public func retireUnusedKeyVersions() async throws -> Set<UInt32> {
        let old = keys.oldVersions
        guard !old.isEmpty, !keys.hasSealsInFlight(old) else { return [] }
        // Counted after the in-flight check: no new seal can use an old version, so the count is final.
        let counts = try await store.dataKeyCounts()
        let unused = old.filter { (counts[$0] ?? 0) == 0 }
        guard !unused.isEmpty else { return [] }
        // Kept before it is traced: a shared ring's change can lose to another hub's, and the trail tells only what was done.
        guard try await keys.retire(unused) else { return [] }
        try await trail.record(AuditRecord(time: trail.clock(), actor: "hub", action: .retireKeys, detail: ["versions": unused.sorted().map(String.init).joined(separator: ","), "current": String(keys.ring.current)]))
        logger.notice("key ring versions retired", metadata: ["versions": "\(unused.sorted())"])
        return unused
    }

    /// Rewraps until no data key is under an old version, then retires the old versions.
    public func completeKeyRotation() async throws -> Set<UInt32> {
        while try await rewrapDataKeys() > 0 {}
        return try await retireUnusedKeyVersions()
    }

    func requireKeyAdministrator(_ caller: Principal) throws {
        guard caller.agency.type == .commission, caller.roles.contains(.administrator) else {
            throw HubError(.forbidden, code: "forbidden", message: "only administrators of the commission may manage the key ring",
                           hint: "Ask a commission administrator, or rotate offline with `liaisond keys rotate --data DIR` while the hub is stopped")
        }
    }
}
