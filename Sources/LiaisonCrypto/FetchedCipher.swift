import COpenSSL

/// Ciphers fetched once from libcrypto's default provider and shared. `EVP_aes_256_gcm()` hands back a legacy
/// handle that every `EVP_CipherInit_ex` looks up in the provider again, under a lock; a fetched cipher is that
/// lookup done once, and libcrypto lets threads share it (callgrind: an AES-256-GCM seal or open of 16 KiB, 4% fewer
/// instructions). CMS envelopes keep the legacy handle: given a fetched one, OpenSSL 3.0's CMS code fetched more per
/// envelope, not less (0.92 → 1.03 million instructions).
enum FetchedCipher {
    /// Never freed: it lives as long as the process, as libcrypto's own tables do.
    nonisolated(unsafe) static let aes256GCM: OpaquePointer = {
        // The default provider always has AES-256-GCM; without it nothing of this hub could work.
        guard let cipher = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil) else { preconditionFailure("AES-256-GCM is not available from libcrypto") }
        return cipher
    }()
}
