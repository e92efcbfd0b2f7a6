import Foundation

/// The key that seals the key ring where several hubs share it (the PostgreSQL database): every hub of one
/// database reads the same master key, from a file only the daemon may read or from the environment, and the
/// database holds the ring only sealed under it (AES-256-GCM), so a copy of the database opens no item.
///
/// Text form: 32 bytes in base64 (`openssl rand -base64 32`), alone on the file's first line.
public struct MasterKey: Sendable {
    let key: [UInt8]
    /// Bound to every sealed ring: a master key's seal of anything else does not open as a ring.
    static let purpose = Array("liaison-keyring-v1 sealed under the master key".utf8)

    /// A key from its text form; `malformed` with what is wrong otherwise.
    public init(text: String) throws {
        guard let bytes = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == AESGCM.keySize else {
            throw CryptoError.malformed("the master key must be 32 bytes in base64, e.g. the output of `openssl rand -base64 32`")
        }
        key = Array(bytes)
    }

    /// The key in `path`, which group and others must not be able to read.
    public static func load(at path: String) throws -> MasterKey {
        try KeyRing.requireOwnerOnly(path)
        do {
            return try MasterKey(text: String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self))
        } catch CryptoError.malformed(let problem) {
            throw CryptoError.file(path: path, problem: "does not hold a master key: \(problem)")
        }
    }

    /// A fresh key in its text form.
    public static func generateText() throws -> String {
        Data(try SecureRandom.bytes(AESGCM.keySize)).base64EncodedString()
    }

    public func seal(_ ring: KeyRing) throws -> [UInt8] {
        try AESGCM.seal(try ring.encoded(), key: key, associatedData: Self.purpose)
    }

    /// The ring sealed in `sealed`; `authenticationFailed` under another master key.
    public func open(_ sealed: [UInt8]) throws -> KeyRing {
        try KeyRing.decode(Data(try AESGCM.open(sealed, key: key, associatedData: Self.purpose)))
    }
}
