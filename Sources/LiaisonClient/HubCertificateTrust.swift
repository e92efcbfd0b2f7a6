import Foundation
import X509

/// Whether the certificate a hub shows (to sign audit heads with, or to seal payloads to) is one the
/// client's CA issued for the host it connects to, valid now: swift-certificates' verifier with the
/// RFC 5280 policy (dates, CA constraints, signatures up to the CA) and the server-identity policy,
/// instead of checks written by hand. What the hub signs, or what is sealed to it, is only as good as this.
public enum HubCertificateTrust {
    public enum Outcome: Sendable, Equatable {
        case trusted
        /// Why not, in a sentence (the verifier's reasons, joined).
        case refused(String)
    }

    public static func check(pem: String, caPEMFile: String, host: String) async -> Outcome {
        let now = Date()
        let leaf: Certificate
        let roots: [Certificate]
        do {
            leaf = try Certificate(pemEncoded: pem)
        } catch {
            return .refused("it is not a PEM certificate")
        }
        do {
            roots = try pemBlocks(String(contentsOfFile: caPEMFile, encoding: .utf8)).map { try Certificate(pemEncoded: $0) }
        } catch {
            return .refused("the CA file \(caPEMFile) cannot be read as PEM certificates")
        }
        guard !roots.isEmpty else { return .refused("the CA file \(caPEMFile) holds no PEM certificate") }
        // An address is matched against the certificate's IP SANs, a name against its DNS SANs.
        let isAddress = host.contains(":") || host.split(separator: ".").count == 4 && host.split(separator: ".").allSatisfy { UInt8($0) != nil }
        var verifier = Verifier(rootCertificates: CertificateStore(roots)) {
            RFC5280Policy()
            ServerIdentityPolicy(serverHostname: isAddress ? nil : host, serverIP: isAddress ? host : nil)
        }
        switch await verifier.validate(leaf: leaf, intermediates: CertificateStore()) {
        case .validCertificate:
            return .trusted
        case .couldNotValidate(let failures):
            let reasons = Set(failures.map { explain("\($0.policyFailureReason)", leaf: leaf, at: now) }).sorted()
            return .refused(reasons.isEmpty ? "no chain leads from it to the CA" : reasons.joined(separator: "; "))
        }
    }

    /// The verifier's reason in a sentence: its reasons print the whole certificate, so dates are said
    /// plainly and otherwise only what follows the certificate is kept.
    static func explain(_ reason: String, leaf: Certificate, at now: Date) -> String {
        let day = { (date: Date) in ISO8601DateFormatter().string(from: date).prefix(10) }
        if now > leaf.notValidAfter { return "it expired on \(day(leaf.notValidAfter))" }
        if now < leaf.notValidBefore { return "it is valid only from \(day(leaf.notValidBefore))" }
        if let end = reason.range(of: ")]) ", options: .backwards) { return "it " + reason[end.upperBound...] }
        return reason
    }

    /// Each certificate of a PEM file (a CA file may hold several).
    static func pemBlocks(_ text: String) -> [String] {
        let end = "-----END CERTIFICATE-----"
        return text.components(separatedBy: "-----BEGIN CERTIFICATE-----").dropFirst().compactMap { body in
            body.range(of: end).map { "-----BEGIN CERTIFICATE-----" + body[..<$0.upperBound] }
        }
    }
}
