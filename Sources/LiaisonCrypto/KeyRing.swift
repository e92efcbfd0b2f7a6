import COpenSSL
public import Foundation

/// The hub's key-encryption keys, by version. New data keys are wrapped under `current`;
/// older versions stay until no wrapped key uses them (see `KeyCustody` for rotation).
///
/// File format (JSON, mode 0600, readable only by the daemon; documented in docs/keys.md):
/// `{"format": "liaison-keyring-v1", "current": 1, "keys": [{"version": 1, "created_at": "...", "key": "<base64 of 32 bytes>"}],
///   "integrity_key": "<base64 of 32 bytes>"}`
///
/// The integrity key seals every stored item's fields (`itemSeal`); it never rotates, since every item's seal is
/// made under it, and rings written before it existed get one the first time they are loaded.
public struct KeyRing: Sendable {
    public struct Version: Sendable, Codable {
        public let version: UInt32
        public let createdAt: String
        let key: [UInt8]

        enum CodingKeys: String, CodingKey { case version, createdAt = "created_at", key }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            version = try container.decode(UInt32.self, forKey: .version)
            createdAt = try container.decode(String.self, forKey: .createdAt)
            guard let bytes = Data(base64Encoded: try container.decode(String.self, forKey: .key)), bytes.count == AESGCM.keySize else {
                throw CryptoError.malformed("key version \(version) is not 32 bytes of base64")
            }
            key = Array(bytes)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(version, forKey: .version)
            try container.encode(createdAt, forKey: .createdAt)
            try container.encode(Data(key).base64EncodedString(), forKey: .key)
        }

        init(version: UInt32, createdAt: String, key: [UInt8]) {
            self.version = version
            self.createdAt = createdAt
            self.key = key
        }
    }

    struct File: Codable {
        var format: String
        var current: UInt32
        var keys: [Version]
        var integrityKey: String?

        enum CodingKeys: String, CodingKey { case format, current, keys, integrityKey = "integrity_key" }
    }

    public static let format = "liaison-keyring-v1"
    public let current: UInt32
    let versions: [UInt32: Version]
    let integrityKey: [UInt8]
    /// The integrity key, keyed into a MAC context once.
    private let sealer: HMACSHA256
    /// The blind index's key, derived from the integrity key (so it is kept, backed up and shared exactly as the
    /// ring is, never in the database in the clear), keyed once.
    private let marker: HMACSHA256

    init(current: UInt32, versions: [Version], integrityKey: [UInt8]) {
        self.current = current
        self.versions = Dictionary(uniqueKeysWithValues: versions.map { ($0.version, $0) })
        self.integrityKey = integrityKey
        self.sealer = HMACSHA256(key: integrityKey)
        self.marker = HMACSHA256(key: sealer.mac(Array("liaison blind index v1".utf8)))
    }

    /// The blind-index mark of a normalised name (`Correlation.markInput`): equal names give equal marks, so items
    /// naming one person meet, while a copy of the database alone, without the ring, does not tell whom they name.
    public func blindMark(_ input: [UInt8]) -> String {
        Digest.hex(marker.mac(input))
    }

    /// The seal of an item's canonical fields (`Item.sealInput`): a row edited in the database no longer matches it.
    public func itemSeal(_ input: [UInt8]) -> [UInt8] {
        sealer.mac(input)
    }

    /// The tag of one chunk of a payload kept in the clear (`PayloadChunk.header` says which chunk of which item), so
    /// that a chunk edited, moved or dropped in the database is caught before it is delivered: GMAC (`AESGCM.tag`)
    /// under a key of this chunk's own, derived from the integrity key and the header (one message per key, as GMAC
    /// with a fixed nonce needs). HMAC-SHA256 over the chunk, as tags were until 2026-12, took a second SHA-256 pass
    /// over every byte of a large push (the whole payload's digest is the first) and of its reading.
    public func chunkTag(_ header: [UInt8], _ chunk: [UInt8]) throws -> [UInt8] {
        try AESGCM.tag(of: chunk, singleUseKey: sealer.mac(Self.chunkKeyLabel, header))
    }

    /// Whether `tag` is `chunk`'s (see `chunkTag`); a tag of 32 bytes is the HMAC-SHA256 of `header` and `chunk` that
    /// chunks stored before were tagged with.
    public func chunkTagMatches(_ tag: [UInt8], header: [UInt8], chunk: [UInt8]) throws -> Bool {
        if tag.count == HMACSHA256.size { return HMACSHA256.equal(tag, sealer.mac(header, chunk)) }
        return HMACSHA256.equal(tag, try chunkTag(header, chunk))
    }

    private static let chunkKeyLabel = Array("liaison chunk tag key v2\n".utf8)

    /// The versions held, oldest first.
    public var versionList: [Version] { versions.values.sorted { $0.version < $1.version } }

    /// The ring with a fresh version added and made current.
    public func rotated(now: Date = Date()) throws -> KeyRing {
        let next = (versions.keys.max() ?? 0) + 1
        let fresh = Version(version: next, createdAt: ISO8601DateFormatter().string(from: now), key: try SecureRandom.bytes(AESGCM.keySize))
        return KeyRing(current: next, versions: Array(versions.values) + [fresh], integrityKey: integrityKey)
    }

    /// The ring with `version`, which it holds, as current.
    func withCurrent(_ version: UInt32) -> KeyRing {
        KeyRing(current: version, versions: Array(versions.values), integrityKey: integrityKey)
    }

    /// The ring without `retired` versions; the current one always stays.
    public func retiring(_ retired: Set<UInt32>) -> KeyRing {
        KeyRing(current: current, versions: versions.values.filter { $0.version == current || !retired.contains($0.version) }, integrityKey: integrityKey)
    }

    /// A ring with one fresh version, not yet on disk.
    public static func generate(now: Date = Date()) throws -> KeyRing {
        KeyRing(current: 1, versions: [Version(version: 1, createdAt: ISO8601DateFormatter().string(from: now), key: try SecureRandom.bytes(AESGCM.keySize))],
                integrityKey: try SecureRandom.bytes(HMACSHA256.size))
    }

    /// Loads the ring at `path`, creating it (mode 0600) if the file does not exist.
    /// A file that group or others may read is refused: the daemon must be its only reader.
    public static func loadOrCreate(at path: String) throws -> KeyRing {
        if FileManager.default.fileExists(atPath: path) { return try load(at: path) }
        let ring = try generate()
        try ring.write(to: path)
        return ring
    }

    public static func load(at path: String) throws -> KeyRing {
        try requireOwnerOnly(path)
        let ring: KeyRing, hadIntegrityKey: Bool
        do {
            (ring, hadIntegrityKey) = try decoded(Data(contentsOf: URL(fileURLWithPath: path)))
        } catch CryptoError.malformed(let problem) {
            throw CryptoError.file(path: path, problem: problem)
        } catch let error as CryptoError {
            throw CryptoError.file(path: path, problem: error.description)
        } catch {
            throw CryptoError.file(path: path, problem: "cannot be read (\(error))")
        }
        // A ring from before item seals gets its integrity key now, kept at once so that every seal uses the same one.
        if !hadIntegrityKey { try ring.write(to: path) }
        return ring
    }

    /// The ring in its file format (JSON), as written to the file or sealed under a master key.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(File(format: Self.format, current: current, keys: versionList, integrityKey: Data(integrityKey).base64EncodedString()))
    }

    /// A ring from its file format; `malformed` when it is not one.
    public static func decode(_ data: Data) throws -> KeyRing {
        try decoded(data).ring
    }

    /// The ring, and whether it held an integrity key (a ring without one gets a fresh key).
    static func decoded(_ data: Data) throws -> (ring: KeyRing, hadIntegrityKey: Bool) {
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch let error as CryptoError {
            throw error
        } catch {
            throw CryptoError.malformed("is not a Liaison key ring (\(error))")
        }
        guard file.format == format else { throw CryptoError.malformed("has format \(file.format), expected \(format)") }
        let integrityKey: [UInt8]
        if let text = file.integrityKey {
            guard let bytes = Data(base64Encoded: text), bytes.count == HMACSHA256.size else {
                throw CryptoError.malformed("has an integrity_key that is not 32 bytes of base64")
            }
            integrityKey = Array(bytes)
        } else {
            integrityKey = try SecureRandom.bytes(HMACSHA256.size)
        }
        let ring = KeyRing(current: file.current, versions: file.keys, integrityKey: integrityKey)
        guard ring.versions[file.current] != nil else { throw CryptoError.malformed("names current version \(file.current), which has no key") }
        return (ring, file.integrityKey != nil)
    }

    /// Refuses a key file that group or others may read (the ring's, the master key's): the daemon must be its only reader.
    static func requireOwnerOnly(_ path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else { throw CryptoError.file(path: path, problem: "cannot be read (\(String(cString: strerror(errno))))") }
        if info.st_mode & 0o077 != 0 {
            throw CryptoError.file(
                path: path,
                problem: String(format: "is readable by group or others (mode %o); run `chmod 600 %@` and start again", info.st_mode & 0o777, path))
        }
    }

    /// Writes atomically: a temp file with mode 0600, then a rename.
    public func write(to path: String) throws {
        let data = try encoded()
        let temp = path + ".tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw CryptoError.file(path: temp, problem: "cannot be created (\(String(cString: strerror(errno))))") }
        let written = data.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        guard written == data.count, rename(temp, path) == 0 else {
            throw CryptoError.file(path: path, problem: "could not be written")
        }
    }

    /// Wraps a data key under the current version; `context` is bound as associated data.
    public func wrap(dataKey: [UInt8], context: [UInt8]) throws -> WrappedKey {
        let kek = versions[current]!
        return WrappedKey(version: current, sealed: try AESGCM.seal(dataKey, key: kek.key, associatedData: context))
    }

    public func unwrap(_ wrapped: WrappedKey, context: [UInt8]) throws -> [UInt8] {
        guard let kek = versions[wrapped.version] else { throw CryptoError.unknownKeyVersion(wrapped.version) }
        return try AESGCM.open(wrapped.sealed, key: kek.key, associatedData: context)
    }
}

/// A data key sealed under one key-ring version.
public struct WrappedKey: Sendable, Equatable {
    public let version: UInt32
    public let sealed: [UInt8]

    public init(version: UInt32, sealed: [UInt8]) {
        self.version = version
        self.sealed = sealed
    }
}
