import Foundation
import LiaisonAPI
import LiaisonClient
import LiaisonCrypto

/// An item's payload as the hub sent it: plain bytes, or CMS sealed to this client's certificate.
struct ReceivedPayload {
    let id: String
    let bytes: [UInt8]
    let sealed: Bool
    /// Of the plaintext.
    let sha256: String

    static func fetch(_ id: String, from hub: HubConnection) async throws -> ReceivedPayload {
        switch try await hub.api.getItemPayload(path: .init(id: id)) {
        case .ok(let ok):
            let limit = 64 * 1024 * 1024 + 64 * 1024
            switch ok.body {
            case .binary(let body):
                return ReceivedPayload(id: id, bytes: try await [UInt8](collecting: body, upTo: limit), sealed: false, sha256: ok.headers.liaisonSHA256)
            case .applicationPkcs7Mime(let body):
                return ReceivedPayload(id: id, bytes: try await [UInt8](collecting: body, upTo: limit), sealed: true, sha256: ok.headers.liaisonSHA256)
            }
        case .default(let status, let problem): throw CLIFailure(HubConnection.problem(status: status, problem))
        }
    }
}

/// The client's own key and certificate, read once, to open what the hub sealed to it.
struct PayloadOpener {
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
