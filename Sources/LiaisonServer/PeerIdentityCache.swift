import LiaisonCrypto
import NIOCore
import NIOSSL
import Synchronization

/// The client certificate's CN per TLS connection, read once per connection rather than per request.
final class PeerIdentityCache: Sendable {
    private let names = Mutex<[ObjectIdentifier: String]>([:])

    /// The Subject CN of the certificate the peer presented on `channel`, or nil if it presented none with a CN.
    func commonName(of channel: any Channel) async throws -> String? {
        let key = ObjectIdentifier(channel)
        if let cached = names.withLock({ $0[key] }) { return cached }
        guard let certificate = try await channel.nioSSL_peerCertificate().get(),
              let name = CertificateIdentity.commonName(der: try certificate.toDERBytes()) else { return nil }
        names.withLock { $0[key] = name }
        // Forget the connection when it closes (at once if it already has).
        channel.closeFuture.whenComplete { _ in self.names.withLock { $0[key] = nil } }
        return name
    }

    var connectionCount: Int { names.withLock { $0.count } }
}
