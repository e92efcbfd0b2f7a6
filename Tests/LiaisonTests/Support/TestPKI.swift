import Foundation

/// Certificates made at test time by scripts/dev-certs (the openssl CLI): the example policy's
/// principals, plus a stranger (valid, undeclared CN), an expired certificate and a foreign CA.
struct TestPKI: Sendable {
    let directory: String
    let foreignDirectory: String

    /// Made once per test run; every test shares it.
    static let shared: TestPKI = {
        do { return try make() } catch { fatalError("cannot make test certificates: \(error)") }
    }()

    static func make() throws -> TestPKI {
        let directory = try Paths.temporaryDirectory("pki")
        let foreign = try Paths.temporaryDirectory("foreign-pki")
        let script = Paths.packageRoot.appendingPathComponent("scripts/dev-certs").path
        func devCerts(_ arguments: [String]) throws {
            let result = try ProcessRunner.run("/bin/bash", [script] + arguments)
            guard result.status == 0 else { throw TestFailure("dev-certs \(arguments) failed: \(result.stderr)") }
        }
        try devCerts(["--out", directory, "--policy", Paths.policies])
        try devCerts(["issue", "stranger", "--out", directory])
        try devCerts(["issue", "expired-agency", "--out", directory, "--expired"])
        // A second certificate for office-5, revoked: the CRL is directory/crl.pem.
        try FileManager.default.createDirectory(atPath: directory + "/revoked", withIntermediateDirectories: true)
        try devCerts(["issue", "office-5", "--out", directory + "/revoked", "--ca-dir", directory])
        try devCerts(["revoke", directory + "/revoked/office-5.pem", "--ca-dir", directory])
        // Ed25519 certificates for declared principals: they connect, but cannot be sealed to.
        try devCerts(["issue", "stationed-transport", "--out", directory + "/ed25519", "--key-type", "ed25519", "--ca-dir", directory])
        // Hub certificates from the right CA that are not valid now, for the client's trust checks.
        try devCerts(["issue", "hub", "--hub", "--expired", "--out", directory + "/expired-hub", "--ca-dir", directory])
        try devCerts(["issue", "hub", "--hub", "--not-yet-valid", "--out", directory + "/future-hub", "--ca-dir", directory])
        // Another hub's own certificate, valid, from the same CA for the same names (several hubs of one database).
        try devCerts(["issue", "hub", "--hub", "--out", directory + "/second-hub", "--ca-dir", directory])
        // A second CA issuing the same names: the hub must not trust any of them (nor its CRL).
        try devCerts(["--out", foreign, "--policy", Paths.policies])
        try devCerts(["revoke", foreign + "/office-3.pem", "--ca-dir", foreign])
        return TestPKI(directory: directory, foreignDirectory: foreign)
    }

    var ca: String { directory + "/ca.pem" }
    var crl: String { directory + "/crl.pem" }
    var hubCertificate: String { directory + "/hub.pem" }
    var hubKey: String { directory + "/hub.key" }
    func certificate(_ name: String) -> String { directory + "/\(name).pem" }
    func key(_ name: String) -> String { directory + "/\(name).key" }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
