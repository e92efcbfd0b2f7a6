import LiaisonCrypto
import NIOCore
import NIOSSL
import Synchronization

/// What the client certificate of one TLS connection says, read once per connection rather than per request.
struct PeerIdentity: Sendable {
    enum Standing: Sendable, Equatable {
        case commonName(String)
        /// The certificate has no Subject CN.
        case anonymous
        /// The certificate (of this CN) is on the CA's revocation list.
        case revoked(String)
    }

    let standing: Standing
    /// The certificate itself: confidential payloads are sealed to it.
    let certificate: X509Certificate?
}

final class PeerIdentityCache: Sendable {
    private let identities = Mutex<[ObjectIdentifier: PeerIdentity]>([:])
    private let revocations: RevocationList?

    init(revocations: RevocationList?) { self.revocations = revocations }

    func identity(of channel: any Channel) async throws -> PeerIdentity {
        let key = ObjectIdentifier(channel)
        if let cached = identities.withLock({ $0[key] }) { return cached }
        let identity: PeerIdentity
        if let certificate = try await channel.nioSSL_peerCertificate().get() {
            let der = try certificate.toDERBytes()
            let name = CertificateIdentity.commonName(der: der)
            let parsed = try? X509Certificate(der: der)
            if revocations?.isRevoked(certificateDER: der) == true {
                identity = PeerIdentity(standing: .revoked(name ?? ""), certificate: parsed)
            } else {
                identity = PeerIdentity(standing: name.map(PeerIdentity.Standing.commonName) ?? .anonymous, certificate: parsed)
            }
        } else {
            identity = PeerIdentity(standing: .anonymous, certificate: nil)
        }
        identities.withLock { $0[key] = identity }
        // Forget the connection when it closes (at once if it already has).
        channel.closeFuture.whenComplete { _ in self.identities.withLock { $0[key] = nil } }
        return identity
    }
}
