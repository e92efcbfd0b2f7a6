import Foundation

/// Certificates made at test time by scripts/test-pki (scripts/dev-certs, the openssl CLI): the example policy's
/// principals, plus a stranger (valid, undeclared CN), an expired certificate and a foreign CA.
struct TestPKI: Sendable {
    let directory: String
    let foreignDirectory: String

    /// Made once per test run; every test shares it.
    static let shared: TestPKI = {
        do { return try make() } catch { fatalError("cannot make test certificates: \(error)") }
    }()

    /// scripts/test-pki's certificates: made by scripts/test before the suite (LIAISON_TEST_PKI), or else here. Made
    /// here, they hold the first tests' threads of the concurrency pool for as long as openssl takes, while other
    /// tests' deadlines run.
    static func make() throws -> TestPKI {
        let root: String
        if let made = ProcessInfo.processInfo.environment["LIAISON_TEST_PKI"] {
            root = made
        } else {
            root = try Paths.temporaryDirectory("pki")
            let result = try ProcessRunner.run("/bin/bash", [Paths.packageRoot.appendingPathComponent("scripts/test-pki").path, root])
            guard result.status == 0 else { throw TestFailure("scripts/test-pki failed: \(result.stderr)") }
        }
        return TestPKI(directory: root + "/pki", foreignDirectory: root + "/foreign-pki")
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
