// Measures LiaisonCrypto's AES-256-GCM (the at-rest cipher) and CMS sealing (delivery to a reader)
// on this machine, for scripts/bench to print beside `openssl speed`. Not part of the product.
// Usage: liaison-crypto-bench SECONDS [CERT.pem ...]
import Foundation
import LiaisonCrypto

let seconds = Double(CommandLine.arguments.dropFirst().first ?? "3") ?? 3
let certificates = CommandLine.arguments.dropFirst(2)

/// Runs `body` repeatedly for `seconds`; returns operations per second.
func rate(_ body: () throws -> Void) rethrows -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    var count = 0
    while true {
        for _ in 0..<16 { try body() }
        count += 16
        let elapsed = clock.now - start
        if elapsed >= .seconds(seconds) {
            return Double(count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
    }
}

func report(_ label: String, _ value: Double, _ unit: String) {
    print("{\"label\": \"\(label)\", \"value\": \(value), \"unit\": \"\(unit)\"}")
}

do {
    let key = try SecureRandom.bytes(AESGCM.keySize)
    let block = try SecureRandom.bytes(16 * 1024)
    let associatedData = Array("liaison/item/v1\nbench\nowner\nconfidential".utf8)
    let sealed = try AESGCM.seal(block, key: key, associatedData: associatedData)
    let sealRate = try rate { _ = try AESGCM.seal(block, key: key, associatedData: associatedData) }
    report("LiaisonCrypto AES-256-GCM seal 16 KiB", sealRate * Double(block.count) / 1_000_000, "MB/s")
    let openRate = try rate { _ = try AESGCM.open(sealed, key: key, associatedData: associatedData) }
    report("LiaisonCrypto AES-256-GCM open 16 KiB", openRate * Double(block.count) / 1_000_000, "MB/s")
    let payload = try SecureRandom.bytes(4096)
    for path in certificates {
        let certificate = try X509Certificate(file: path)
        let cmsRate = try rate { _ = try CMSEnvelope.seal(payload, to: certificate) }
        report("CMS seal 4 KiB to \(certificate.keyType) reader", cmsRate, "envelopes/s")
    }
} catch {
    FileHandle.standardError.write(Data("liaison-crypto-bench: \(error)\n".utf8))
    exit(1)
}
