#ifndef LIAISON_COPENSSL_SHIM_H
#define LIAISON_COPENSSL_SHIM_H

#include <string.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <openssl/params.h>

// Function-like macros do not import into Swift: wrap the ones we need.

static inline void liaison_openssl_free(void *ptr) { OPENSSL_free(ptr); }

static inline long liaison_bio_get_mem_data(BIO *bio, char **out) { return BIO_get_mem_data(bio, out); }

static inline int liaison_bio_flush(BIO *bio) { return (int)BIO_flush(bio); }

static inline int liaison_bio_reset(BIO *bio) { return (int)BIO_reset(bio); }

static inline int liaison_crl_revoked_count(X509_CRL *crl) {
    STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);
    return revoked ? sk_X509_REVOKED_num(revoked) : 0;
}

// HMAC-SHA-256 over SHA-256 states keyed once (RFC 2104): a MAC copies two plain structs instead of duplicating
// an EVP_MAC context (three EVP_MD_CTX copies, each allocating). The low-level SHA-256 calls are deprecated in
// OpenSSL 3.0, not removed, and run the same code as EVP's SHA-256.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

typedef struct { SHA256_CTX inner; SHA256_CTX outer; } liaison_hmac_sha256_key;

static inline void liaison_hmac_sha256_key_init(liaison_hmac_sha256_key *keyed, const unsigned char *key, size_t length) {
    unsigned char block[SHA256_CBLOCK] = {0};
    if (length > SHA256_CBLOCK) {
        SHA256(key, length, block);
    } else if (length > 0) {
        memcpy(block, key, length);
    }
    unsigned char pad[SHA256_CBLOCK];
    for (int i = 0; i < SHA256_CBLOCK; i++) pad[i] = block[i] ^ 0x36;
    SHA256_Init(&keyed->inner);
    SHA256_Update(&keyed->inner, pad, SHA256_CBLOCK);
    for (int i = 0; i < SHA256_CBLOCK; i++) pad[i] = block[i] ^ 0x5c;
    SHA256_Init(&keyed->outer);
    SHA256_Update(&keyed->outer, pad, SHA256_CBLOCK);
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
}

static inline void liaison_hmac_sha256_begin(const liaison_hmac_sha256_key *keyed, SHA256_CTX *context) { *context = keyed->inner; }

static inline void liaison_hmac_sha256_update(SHA256_CTX *context, const void *bytes, size_t length) { SHA256_Update(context, bytes, length); }

static inline void liaison_hmac_sha256_end(const liaison_hmac_sha256_key *keyed, SHA256_CTX *context, unsigned char *out) {
    unsigned char inner[SHA256_DIGEST_LENGTH];
    SHA256_Final(inner, context);
    SHA256_CTX outer = keyed->outer;
    SHA256_Update(&outer, inner, sizeof inner);
    SHA256_Final(out, &outer);
    OPENSSL_cleanse(inner, sizeof inner);
    OPENSSL_cleanse(context, sizeof *context);
    OPENSSL_cleanse(&outer, sizeof outer);
}

#pragma GCC diagnostic pop
#pragma clang diagnostic pop

#endif
