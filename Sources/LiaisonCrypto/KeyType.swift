import COpenSSL

/// The algorithm of a public or private key, as far as sealing CMS envelopes to it cares.
public enum KeyType: Sendable, Equatable, CustomStringConvertible {
    case rsa
    case ec
    /// Any other algorithm, by OpenSSL's short name (e.g. ED25519).
    case other(String)

    init(of key: OpaquePointer) {
        switch EVP_PKEY_get_base_id(key) {
        case NID_rsaEncryption: self = .rsa
        case NID_X9_62_id_ecPublicKey: self = .ec
        case let nid: self = .other(OBJ_nid2sn(nid).map { String(cString: $0) } ?? "unknown")
        }
    }

    /// Whether the hub can address a CMS envelope to a key of this type.
    public var isAddressable: Bool { self == .rsa || self == .ec }

    public var description: String {
        switch self {
        case .rsa: return "RSA"
        case .ec: return "EC"
        case .other(let name): return name
        }
    }
}
