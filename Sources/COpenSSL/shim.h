#ifndef LIAISON_COPENSSL_SHIM_H
#define LIAISON_COPENSSL_SHIM_H

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

#endif
