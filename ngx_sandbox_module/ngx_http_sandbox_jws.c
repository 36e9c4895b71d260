
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * JWS signatures (RFC 7515, 7518) checked with OpenSSL: HMAC-SHA-2 with a
 * constant-time comparison, RSASSA-PKCS1-v1_5 with SHA-256, and ECDSA
 * P-256 with SHA-256, whose signature is r and s as two 32-byte numbers.
 * The caller has already chosen the key by the algorithm's kind.
 */


#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ngx_http_sandbox_module.h"


#define NGX_HTTP_SANDBOX_ES256_PART  32


static ngx_uint_t ngx_http_sandbox_jws_hmac(ngx_http_sandbox_jwt_key_t *k,
    const EVP_MD *md, ngx_str_t *input, ngx_str_t *sig);
static ngx_uint_t ngx_http_sandbox_jws_pkey(EVP_PKEY *pkey,
    ngx_str_t *input, const u_char *sig, size_t siglen);
static ngx_uint_t ngx_http_sandbox_jws_es256(ngx_http_sandbox_jwt_key_t *k,
    ngx_str_t *input, ngx_str_t *sig);


/* Non-zero when sig is the signature of input by the key. */

ngx_uint_t
ngx_http_sandbox_jws_verify(ngx_http_sandbox_jwt_key_t *k, sbx_jwt_alg_t alg,
    ngx_str_t *input, ngx_str_t *sig)
{
    switch (alg) {

    case SBX_JWT_HS256:
        return ngx_http_sandbox_jws_hmac(k, EVP_sha256(), input, sig);

    case SBX_JWT_HS384:
        return ngx_http_sandbox_jws_hmac(k, EVP_sha384(), input, sig);

    case SBX_JWT_HS512:
        return ngx_http_sandbox_jws_hmac(k, EVP_sha512(), input, sig);

    case SBX_JWT_RS256:
        return ngx_http_sandbox_jws_pkey(k->pkey, input, sig->data, sig->len);

    case SBX_JWT_ES256:
        return ngx_http_sandbox_jws_es256(k, input, sig);

    default:
        return 0;
    }
}


static ngx_uint_t
ngx_http_sandbox_jws_hmac(ngx_http_sandbox_jwt_key_t *k, const EVP_MD *md,
    ngx_str_t *input, ngx_str_t *sig)
{
    u_char        mac[EVP_MAX_MD_SIZE];
    unsigned int  len;

    if (HMAC(md, k->key.data, (int) k->key.len, input->data, input->len,
             mac, &len)
        == NULL)
    {
        return 0;
    }

    return sig->len == len && CRYPTO_memcmp(mac, sig->data, len) == 0;
}


static ngx_uint_t
ngx_http_sandbox_jws_pkey(EVP_PKEY *pkey, ngx_str_t *input,
    const u_char *sig, size_t siglen)
{
    int          rc;
    EVP_MD_CTX  *md;

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return 0;
    }

    rc = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey);

    if (rc == 1) {
        rc = EVP_DigestVerify(md, sig, siglen, input->data, input->len);
    }

    EVP_MD_CTX_free(md);

    return rc == 1;
}


/* r || s, as JWS sends them, becomes the DER that OpenSSL verifies. */

static ngx_uint_t
ngx_http_sandbox_jws_es256(ngx_http_sandbox_jwt_key_t *k, ngx_str_t *input,
    ngx_str_t *sig)
{
    int         len;
    BIGNUM     *r, *s;
    u_char     *der;
    ngx_uint_t  ok;
    ECDSA_SIG  *es;

    if (sig->len != 2 * NGX_HTTP_SANDBOX_ES256_PART) {
        return 0;
    }

    es = ECDSA_SIG_new();
    r = BN_bin2bn(sig->data, NGX_HTTP_SANDBOX_ES256_PART, NULL);
    s = BN_bin2bn(sig->data + NGX_HTTP_SANDBOX_ES256_PART,
                  NGX_HTTP_SANDBOX_ES256_PART, NULL);

    if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
        ECDSA_SIG_free(es);
        BN_free(r);
        BN_free(s);
        return 0;
    }

    der = NULL;
    len = i2d_ECDSA_SIG(es, &der);

    ECDSA_SIG_free(es);

    if (len <= 0) {
        return 0;
    }

    ok = ngx_http_sandbox_jws_pkey(k->pkey, input, der, (size_t) len);

    OPENSSL_free(der);

    return ok;
}
