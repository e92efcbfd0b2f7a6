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
#include <openssl/ec.h>
#include <openssl/ecdh.h>

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

// Ephemeral-static ECDH to a reader's EC key through the EC_KEY functions, deprecated in OpenSSL 3.0 and not removed:
// the same arithmetic as EVP_PKEY_keygen and EVP_PKEY_derive, without the provider lookups and contexts that cost
// those about 14 us of each envelope (a C benchmark on this machine, caches cold: 78 against 64 us). The reader's
// point is not validated again: decoding it from the certificate checked that it is on the curve, which for the
// cofactor-1 NIST curves is all a full check adds to, and the only key a bad point could expose is this ephemeral one,
// used for one envelope. On success (1), `secret` holds the shared x-coordinate, the curve's field size long, and
// `point` the ephemeral public key, uncompressed; the ephemeral private key is cleared when freed.
static inline int liaison_ecdh_ephemeral(const EVP_PKEY *reader, unsigned char *secret, size_t secret_capacity, size_t *secret_length,
                                         unsigned char *point, size_t point_capacity, size_t *point_length) {
    const EC_KEY *readerKey = EVP_PKEY_get0_EC_KEY(reader);
    if (readerKey == NULL) return 0;
    const EC_GROUP *group = EC_KEY_get0_group(readerKey);
    const EC_POINT *readerPoint = EC_KEY_get0_public_key(readerKey);
    if (group == NULL || readerPoint == NULL) return 0;
    int fieldBytes = (EC_GROUP_get_degree(group) + 7) / 8;
    if (fieldBytes <= 0 || (size_t)fieldBytes > secret_capacity) return 0;
    EC_KEY *ephemeral = EC_KEY_new();
    if (ephemeral == NULL) return 0;
    int ok = 0;
    if (EC_KEY_set_group(ephemeral, group) == 1 && EC_KEY_generate_key(ephemeral) == 1
        && ECDH_compute_key(secret, (size_t)fieldBytes, readerPoint, ephemeral, NULL) == fieldBytes) {
        size_t written = EC_POINT_point2oct(group, EC_KEY_get0_public_key(ephemeral), POINT_CONVERSION_UNCOMPRESSED, point, point_capacity, NULL);
        if (written > 0) {
            *secret_length = (size_t)fieldBytes;
            *point_length = written;
            ok = 1;
        }
    }
    EC_KEY_free(ephemeral);
    return ok;
}

#pragma GCC diagnostic pop
#pragma clang diagnostic pop

#endif
