import Foundation
import LiaisonCrypto
import Testing

@Suite("mTLS transport and identity")
struct TransportTests {
    @Test func noClientCertificateFailsTheHandshake() async throws {
        try await TestHub.with { hub in
            let anonymous = try TestClient(baseURL: hub.baseURL, certificate: nil, key: nil, ca: hub.pki.ca)
            await #expect(throws: (any Error).self) { _ = try await anonymous.get("/v1/whoami") }
            await anonymous.shutdown()
        }
    }

    @Test func aCertificateFromAnotherCAFailsTheHandshake() async throws {
        try await TestHub.with { hub in
            let foreign = hub.pki.foreignDirectory
            let impostor = try TestClient(baseURL: hub.baseURL, certificate: foreign + "/office-3.pem", key: foreign + "/office-3.key", ca: hub.pki.ca)
            await #expect(throws: (any Error).self) { _ = try await impostor.get("/v1/whoami") }
            await impostor.shutdown()
        }
    }

    @Test func anExpiredCertificateFailsTheHandshake() async throws {
        _ = try await TestHub.with { hub in
            await #expect(throws: (any Error).self) { _ = try await hub.client("expired-agency").get("/v1/whoami") }
        }
    }

    @Test func aValidCertificateWithAnUndeclaredCNGets403NamingIt() async throws {
        try await TestHub.with { hub in
            let response = try await hub.client("stranger").get("/v1/items")
            #expect(response.status == 403)
            #expect(response.errorCode == "unknown_principal")
            #expect(response.errorMessage == "the certificate's CN 'stranger' is not a principal declared in the policy")
        }
    }

    @Test func aRevokedCertificateGets403WhileAnotherWithTheSameCNWorks() async throws {
        let pki = TestPKI.shared
        let revocations = try RevocationList(pemFile: pki.crl, issuerPEMFile: pki.ca)
        #expect(revocations.revokedCount == 1)
        try await TestHub.with(revocations: revocations) { hub in
            let revoked = try TestClient(baseURL: hub.baseURL, certificate: pki.directory + "/revoked/office-5.pem", key: pki.directory + "/revoked/office-5.key", ca: pki.ca)
            let refused = try await revoked.get("/v1/whoami")
            #expect(refused.status == 403)
            #expect(refused.errorCode == "certificate_revoked")
            await revoked.shutdown()
            #expect(try await hub.client("office-5").get("/v1/whoami").status == 200)
        }
    }

    @Test func aRevocationListFromAnotherCAIsRefused() {
        #expect(throws: CryptoError.self) {
            _ = try RevocationList(pemFile: TestPKI.shared.foreignDirectory + "/crl.pem", issuerPEMFile: TestPKI.shared.ca)
        }
    }

    @Test func whoamiNamesThePrincipalItsAgencyAndRoles() async throws {
        try await TestHub.with { hub in
            let person = try await hub.client("li.na").get("/v1/whoami")
            #expect(person.status == 200)
            #expect(person.json["principal"] as? String == "li.na")
            #expect(person.json["name"] as? String == "李娜")
            #expect(person.json["agency"] as? String == "commission")
            #expect(person.json["roles"] as? [String] == ["approver", "auditor"])
            let agency = try await hub.client("inspection-2").get("/v1/whoami")
            #expect(agency.json["agency_type"] as? String == "inspection-team")
            #expect(agency.json["roles"] as? [String] == [])
        }
    }

    @Test func healthzAnswersAnyCertificateOfTheCA() async throws {
        try await TestHub.with { hub in
            let response = try await hub.client("stranger").get("/healthz")
            #expect(response.status == 200)
            #expect(response.json["status"] as? String == "ok")
        }
    }

    @Test func unknownEndpointsAreJSON404s() async throws {
        try await TestHub.with { hub in
            let response = try await hub.client("office-3").get("/v1/nothing-here")
            #expect(response.status == 404)
            #expect(response.errorCode == "no_such_endpoint")
        }
    }
}
