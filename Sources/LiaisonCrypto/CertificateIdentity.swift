import COpenSSL

/// Reads identity fields out of an X.509 certificate.
public enum CertificateIdentity {
    /// The Subject CN of a DER-encoded certificate, or nil if it has none or is not a certificate.
    public static func commonName(der: [UInt8]) -> String? {
        der.withUnsafeBufferPointer { buffer -> String? in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            guard let cert = d2i_X509(nil, &cursor, buffer.count) else {
                ERR_clear_error()
                return nil
            }
            defer { X509_free(cert) }
            guard let name = X509_get_subject_name(cert) else { return nil }
            let index = X509_NAME_get_index_by_NID(name, NID_commonName, -1)
            guard index >= 0, let entry = X509_NAME_get_entry(name, index), let data = X509_NAME_ENTRY_get_data(entry) else { return nil }
            var utf8: UnsafeMutablePointer<UInt8>? = nil
            let length = ASN1_STRING_to_UTF8(&utf8, data)
            guard length >= 0, let utf8 else { return nil }
            defer { liaison_openssl_free(utf8) }
            return String(decoding: UnsafeBufferPointer(start: utf8, count: Int(length)), as: UTF8.self)
        }
    }
}
