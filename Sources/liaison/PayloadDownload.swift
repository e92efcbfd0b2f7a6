import Foundation
import LiaisonAPI
import LiaisonClient
import LiaisonCrypto
import OpenAPIRuntime
import ArgumentParser

/// An item's payload as the hub sent it: plain bytes, or CMS sealed to this client's certificate.
struct ReceivedPayload {
    let id: String
    let bytes: [UInt8]
    let sealed: Bool
    /// Of the plaintext.
    let sha256: String

    /// The most held in memory (a payload for standard output, or for a dossier's folder).
    static let heldLimit = 64 * 1024 * 1024 + 64 * 1024

    static func fetch(_ id: String, from hub: HubConnection) async throws -> ReceivedPayload {
        switch try await hub.api.getItemPayload(path: .init(id: id)) {
        case .ok(let ok):
            let (body, sealed) = switch ok.body {
            case .binary(let body): (body, false)
            case .applicationPkcs7Mime(let body): (body, true)
            case .applicationVnd_liaison_cmsFrames:
                // Only sent when asked for by name, which this path does not do.
                throw CLIFailure(LiaisonClientError(code: "unexpected", message: "the hub sent the payload of \(id) as frames, which were not asked for",
                                                    hint: "Write it to a file: `liaison get \(id) -o FILE`"))
            }
            var bytes: [UInt8] = []
            for try await piece in body {
                guard piece.count <= heldLimit - bytes.count else {
                    throw CLIFailure(LiaisonClientError(code: "too_large", message: "the payload of \(id) is larger than the \(heldLimit >> 20) MiB held in memory here",
                                                        hint: "Write it to a file instead: `liaison get \(id) -o FILE` streams any size"))
                }
                bytes += piece
            }
            return ReceivedPayload(id: id, bytes: bytes, sealed: sealed, sha256: ok.headers.liaisonSHA256)
        case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
        }
    }
}

/// The client's own key and certificate, read once, to open what the hub sealed to it.
struct PayloadOpener: Sendable {
    let key: PrivateKey
    let certificate: X509Certificate

    init(settings: ClientSettings) throws {
        do {
            key = try PrivateKey(pemFile: settings.keyPath)
            certificate = try X509Certificate(file: settings.certificatePath)
        } catch {
            throw CLIFailure(LiaisonClientError(code: "cannot_open", message: "cannot read your key or certificate to open sealed payloads: \(error)",
                                                hint: "Check --cert and --key (or LIAISON_CERT and LIAISON_KEY)"))
        }
    }

    /// The plaintext, opened if it arrived sealed, checked against its SHA-256.
    func plaintext(of payload: ReceivedPayload) throws -> [UInt8] {
        var bytes = payload.bytes
        if payload.sealed {
            do {
                bytes = try CMSEnvelope.open(payload.bytes, key: key, certificate: certificate)
            } catch {
                throw CLIFailure(LiaisonClientError(code: "cannot_open", message: "the payload of \(payload.id) arrived sealed to your certificate but could not be opened: \(error)",
                                                    hint: "Use the private key that belongs to the certificate you connected with; `liaison get --raw` writes the envelope as received"))
            }
        }
        guard Digest.sha256Hex(bytes) == payload.sha256 else {
            throw CLIFailure(LiaisonClientError(code: "integrity", message: "the payload of \(payload.id) does not match its SHA-256; nothing was written",
                                                hint: "Fetch it again; if it persists, report it to the hub's operator"))
        }
        return bytes
    }
}

/// A payload written to a file as it streams in, never held whole: into a temporary file beside the destination
/// (mode 0600), hashed on the way, moved into place only once its SHA-256 matches.
struct PayloadFile: Sendable {
    let id: String
    let path: String

    /// Fetches the payload into the file: plain bytes checked against their SHA-256 before the file is moved into
    /// place; a sealed envelope received into a temporary file, then opened into another with the reader's key
    /// (`opener`), or with `raw` kept as received. The size written, the plaintext's SHA-256, and whether it came sealed.
    /// `label` names its progress bar on a terminal; nil shows none (one of many fetched together).
    func fetch(from hub: HubConnection, raw: Bool = false, opener: () throws -> PayloadOpener, label: String? = "get") async throws -> (size: Int, sha256: String, sealed: Bool) {
        // Frames first: a payload kept in chunks then comes sealed chunk by chunk, opened here as it arrives.
        let accept: [AcceptHeaderContentType<Operations.GetItemPayload.AcceptableContentType>] =
            [.init(contentType: .applicationVnd_liaison_cmsFrames), .init(contentType: .binary), .init(contentType: .applicationPkcs7Mime)]
        switch try await hub.api.getItemPayload(path: .init(id: id), headers: .init(accept: raw ? [.init(contentType: .binary), .init(contentType: .applicationPkcs7Mime)] : accept)) {
        case .ok(let ok):
            let expected = ok.headers.liaisonSHA256
            switch ok.body {
            case .applicationVnd_liaison_cmsFrames(let body):
                let reader = try opener()
                let received = try await receive(body, label: label, frames: SealedFrames.Reader(itemID: id, key: reader.key, certificate: reader.certificate))
                try keep(received.temporary, sha256: received.sha256, expected: expected)
                return (received.size, expected, true)
            case .binary(let body):
                let received = try await receive(body, label: label)
                try keep(received.temporary, sha256: received.sha256, expected: expected)
                return (received.size, expected, false)
            case .applicationPkcs7Mime(let body):
                let envelope = try await receive(body, label: label)
                if raw {
                    try keep(envelope.temporary, sha256: envelope.sha256, expected: envelope.sha256)
                    return (envelope.size, expected, true)
                }
                defer { try? FileManager.default.removeItem(atPath: envelope.temporary) }
                let opened = envelope.temporary + ".open"
                try Self.createPrivate(opened).close()
                let reader = try opener()
                do {
                    try CMSEnvelope.open(file: envelope.temporary, into: opened, key: reader.key, certificate: reader.certificate)
                } catch {
                    try? FileManager.default.removeItem(atPath: opened)
                    throw CLIFailure(LiaisonClientError(code: "cannot_open", message: "the payload of \(id) arrived sealed to your certificate but could not be opened: \(error)",
                                                        hint: "Use the private key that belongs to the certificate you connected with; `liaison get --raw` writes the envelope as received"))
                }
                let size = (try? FileManager.default.attributesOfItem(atPath: opened)[.size] as? NSNumber)?.intValue ?? 0
                try keep(opened, sha256: try Self.sha256(ofFile: opened), expected: expected)
                return (size, expected, true)
            }
        case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
        }
    }

    /// Receives `body` into a temporary file beside `path`; its path, size and the SHA-256 of what arrived.
    /// With `frames`, the body is `SealedFrames` and what is written is what they open to (all of them, or an error).
    func receive(_ body: HTTPBody, label: String?, frames: SealedFrames.Reader? = nil) async throws -> (temporary: String, size: Int, sha256: String) {
        var frames = frames
        let temporary = temporaryPath()
        let handle = try Self.createPrivate(temporary)
        defer { try? handle.close() }
        let digest = SHA256Stream()
        let progress = label.map { Progress(label: $0, unit: "MiB") }
        let total: Int? = if case .known(let length) = body.length { Int(length) } else { nil }
        var size = 0
        do {
            for try await piece in body {
                for chunk in try frames?.take(piece) ?? [Array(piece)] {
                    digest.update(chunk)
                    try handle.write(contentsOf: chunk)
                    size += chunk.count
                }
                if let total { progress?.show(size >> 20, of: max(1, total >> 20)) }
            }
            if let frames, !frames.finished {
                throw CLIFailure(LiaisonClientError(code: "integrity", message: "the payload of \(id) ended before its last frame; nothing was written",
                                                    hint: "Fetch it again; if it persists, report it to the hub's operator"))
            }
            try handle.synchronize()
        } catch {
            progress?.done()
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        progress?.done()
        return (temporary, size, digest.finishHex())
    }

    /// A new name for a file to receive into: hidden, beside the destination (the same file system, so the move is a
    /// rename); a dossier's folder never takes it for an item.
    func temporaryPath() -> String {
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        return path[..<slash] + "." + path[slash...] + ".partial-" + String(UInt32.random(in: .min ... .max), radix: 16)
    }

    /// Moves the received file into place once it is the payload pushed; removes it otherwise.
    func keep(_ temporary: String, sha256: String, expected: String) throws {
        guard sha256 == expected else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw CLIFailure(LiaisonClientError(code: "integrity", message: "the payload of \(id) does not match its SHA-256; nothing was written",
                                                hint: "Fetch it again; if it persists, report it to the hub's operator"))
        }
        // Takes the place of an earlier file of that name in one step.
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw ValidationError("cannot write \(path): \(reason)")
        }
    }

    /// A new file only its owner may read, open for writing. Straight to the system: Foundation's createFile writes
    /// through a temporary file and a rename of its own, which was most of the time of pulling a dossier of small items.
    static func createPrivate(_ path: String) throws -> FileHandle {
        let descriptor = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ValidationError("cannot write \(path): \(String(cString: strerror(errno)))") }
        return FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    /// The SHA-256 of a file, read in pieces.
    static func sha256(ofFile path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ValidationError("cannot read \(path)") }
        defer { try? handle.close() }
        let digest = SHA256Stream()
        while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty { digest.update(data) }
        return digest.finishHex()
    }
}
