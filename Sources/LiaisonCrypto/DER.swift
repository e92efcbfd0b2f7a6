import COpenSSL

/// The little DER the hub writes itself: the CMS envelopes it seals to a reader (`CMSEnvelope.seal`). Definite
/// lengths only; the fixed pieces (object identifiers, algorithm identifiers) are constants below, written as
/// OpenSSL writes them, so that OpenSSL reads an envelope back to the same bytes.
enum DER {
    /// A tag and the length of the content that follows it.
    static func head(_ tag: UInt8, _ length: Int) -> [UInt8] {
        guard length >= 0x80 else { return [tag, UInt8(length)] }
        var octets: [UInt8] = []
        var rest = length
        while rest > 0 {
            octets.append(UInt8(rest & 0xff))
            rest >>= 8
        }
        return [tag, 0x80 | UInt8(octets.count)] + octets.reversed()
    }

    static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] { head(tag, content.count) + content }

    static func sequence(_ parts: [UInt8]...) -> [UInt8] { tlv(0x30, Array(parts.joined())) }

    static func octets(_ bytes: [UInt8]) -> [UInt8] { tlv(0x04, bytes) }

    /// A small non-negative INTEGER (a version, a tag length).
    static func integer(_ value: UInt8) -> [UInt8] { value < 0x80 ? [0x02, 0x01, value] : [0x02, 0x02, 0x00, value] }

    /// The DER of an OpenSSL object through its `i2d_…` function.
    static func encoded(_ encode: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?) -> Int32, _ what: String) throws -> [UInt8] {
        let length = encode(nil)
        guard length > 0 else { throw CryptoError.fromQueue(what) }
        var bytes = [UInt8](repeating: 0, count: Int(length))
        let written = bytes.withUnsafeMutableBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return encode(&cursor)
        }
        guard written == length else { throw CryptoError.fromQueue(what) }
        return bytes
    }

    // Object identifiers, tag and length included.
    /// id-ct-authEnvelopedData, 1.2.840.113549.1.9.16.1.23 (RFC 5083)
    static let authEnvelopedData: [UInt8] = [0x06, 0x0B, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x01, 0x17]
    /// id-data, 1.2.840.113549.1.7.1
    static let data: [UInt8] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01]
    /// id-aes256-GCM, 2.16.840.1.101.3.4.1.46
    static let aes256GCM: [UInt8] = [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2E]
    /// id-aes256-wrap, 2.16.840.1.101.3.4.1.45
    static let aes256Wrap: [UInt8] = [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2D]
    /// id-RSAES-OAEP, 1.2.840.113549.1.1.7
    static let rsaesOAEP: [UInt8] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x07]
    /// id-sha256, 2.16.840.1.101.3.4.2.1
    static let sha256: [UInt8] = [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01]
    /// id-mgf1, 1.2.840.113549.1.1.8
    static let mgf1: [UInt8] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x08]
    /// id-ecPublicKey, 1.2.840.10045.2.1
    static let ecPublicKey: [UInt8] = [0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]
    /// dhSinglePass-stdDH-sha256kdf-scheme, 1.3.132.1.11.1 (RFC 5753)
    static let stdDHSHA256KDF: [UInt8] = [0x06, 0x06, 0x2B, 0x81, 0x04, 0x01, 0x0B, 0x01]
}
