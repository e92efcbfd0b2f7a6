import ArgumentParser
import CFileSystem
import Foundation
import LiaisonAPI
import LiaisonClient
import LiaisonCore
import LiaisonCrypto
import OpenAPIRuntime

/// Pulls many small payloads of a dossier in one answer (`POST /v1/dossiers/{id}/payloads`, a tar archive) and writes
/// each beside its file as it arrives, opened where it came sealed and checked against the SHA-256 in the manifest;
/// once all are written, they are flushed together and moved into place.
struct DossierBundle {
    let dossier: String
    /// Where the files go.
    let folder: String
    /// The items asked for, by id, each with the path its payload goes to.
    let files: [String: (item: Components.Schemas.Item, path: String)]
    let order: [String]

    init(dossier: String, folder: String, items: [(item: Components.Schemas.Item, path: String)]) {
        self.dossier = dossier
        self.folder = folder
        files = Dictionary(items.map { ($0.item.id, $0) }, uniquingKeysWith: { first, _ in first })
        order = items.map(\.item.id)
    }

    /// The hub bundles payloads up to one chunk (1 MiB); a sealed one comes in an envelope a little larger.
    static let payloadLimit = PayloadChunk.size
    static let largestFile = payloadLimit + 64 * 1024

    /// Fetches the archive and writes its files; calls `wrote` with how many are written so far, and returns their ids.
    /// Each file is written beside its name and flushed with all the others in one step before any takes its name.
    func pull(from hub: HubConnection, opener: PayloadOpener, wrote: (Int) -> Void) async throws -> Set<String> {
        switch try await hub.api.pullDossier(path: .init(id: dossier), body: .json(.init(items: order))) {
        case .ok(let ok):
            guard case .applicationXTar(let body) = ok.body else { throw unreadable("it is not a tar archive") }
            var received: [Received] = []
            var failure: (any Error)?
            // Files are opened and written a few at a time while the archive streams in: opening an envelope sealed
            // to an RSA key takes about half a millisecond, which on one core was most of pulling many of them.
            await withTaskGroup(of: Result<Received, any Error>.self) { group in
                var inFlight = 0
                func collect(_ result: Result<Received, any Error>?) {
                    inFlight -= 1
                    switch result {
                    case .success(let one)?: received.append(one); wrote(received.count)
                    case .failure(let error)?: failure = failure ?? error
                    case nil: break
                    }
                }
                do {
                    var reader = TarArchive.Reader(largestFile: Self.largestFile)
                    var ids: Set<String> = []
                    for try await piece in body {
                        // The list of payloads left out: they are fetched alone afterwards, as those not asked for.
                        for file in try reader.take(piece) where file.name != PayloadFileName.leftOut {
                            let id = String(file.name.prefix { $0 != "." })
                            guard files[id] != nil, ids.insert(id).inserted else { throw unreadable("it holds \(file.name), which was not asked for or came twice") }
                            if inFlight == Self.writers { collect(await group.next()) }
                            guard failure == nil else { break }
                            group.addTask { Result { try receive(file, id: id, opener: opener) } }
                            inFlight += 1
                        }
                        if failure != nil { break }
                    }
                    if failure == nil { try reader.end() }
                } catch let error as TarArchive.Unreadable {
                    failure = failure ?? unreadable(error.description)
                } catch {
                    failure = failure ?? error
                }
                // Every file begun is finished (or failed) before any is kept or removed.
                while inFlight > 0 { collect(await group.next()) }
            }
            do {
                if let failure { throw failure }
                // One flush for all: a flush per file was most of the pull (3,500 files: 1.3 s, against 0.25 s so).
                try Self.flush(folder)
            } catch {
                for one in received { try? FileManager.default.removeItem(atPath: one.temporary) }
                throw error
            }
            for (index, one) in received.enumerated() {
                do {
                    try one.file.keep(one.temporary, sha256: one.sha256, expected: files[one.file.id]?.item.sha256 ?? "")
                } catch {
                    for rest in received[(index + 1)...] { try? FileManager.default.removeItem(atPath: rest.temporary) }
                    throw error
                }
            }
            try Self.flush(folder)  // the names
            return Set(received.map(\.file.id))
        case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
        }
    }

    /// Files opened and written at once: two per core.
    static let writers = 2 * max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// A file of the archive written beside its item's path, not flushed yet.
    struct Received: Sendable {
        let file: PayloadFile
        let temporary: String
        let sha256: String
    }

    /// Writes one file of the archive, the payload of item `id`, beside the item's path (opened first if it came sealed).
    func receive(_ file: TarArchive.File, id: String, opener: PayloadOpener) throws -> Received {
        guard let (item, path) = files[id] else { throw unreadable("it holds \(file.name), which was not asked for") }
        var bytes = file.bytes
        if file.name.hasSuffix(PayloadFileName.sealedSuffix) {
            do {
                bytes = try CMSEnvelope.open(bytes, key: opener.key, certificate: opener.certificate)
            } catch {
                throw CLIFailure(LiaisonClientError(code: "cannot_open", message: "the payload of \(id) arrived sealed to your certificate but could not be opened: \(error)",
                                                    hint: "Use the private key that belongs to the certificate you connected with"))
            }
        }
        let sha256 = Digest.sha256Hex(bytes)
        guard sha256 == item.sha256 else {
            throw CLIFailure(LiaisonClientError(code: "integrity", message: "the payload of \(id) does not match its SHA-256; nothing was written",
                                                hint: "Fetch it again; if it persists, report it to the hub's operator"))
        }
        let destination = PayloadFile(id: id, path: path)
        let temporary = destination.temporaryPath()
        let handle = try PayloadFile.createPrivate(temporary)
        do {
            try handle.write(contentsOf: bytes)
            try handle.close()
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        return Received(file: destination, temporary: temporary, sha256: sha256)
    }

    /// Flushes everything written to the file system holding `folder` (syncfs(2)), the files' bytes and their names.
    static func flush(_ folder: String) throws {
        let descriptor = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0, cfilesystem_syncfs(descriptor) == 0 else {
            let reason = String(cString: strerror(errno))
            if descriptor >= 0 { close(descriptor) }
            throw ValidationError("cannot flush \(folder) to disk: \(reason)")
        }
        close(descriptor)
    }

    func unreadable(_ reason: String) -> CLIFailure {
        CLIFailure(LiaisonClientError(code: "unreadable", message: "the hub's archive of dossier \(dossier)'s payloads could not be read: \(reason)",
                                      hint: "Run the pull again (it fetches only what is missing); if it persists, report it to the hub's operator"))
    }
}
