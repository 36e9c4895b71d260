
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The JWT directives: the keys that verify tokens (HMAC secrets, RSA and
 * P-256 public keys), the algorithms accepted, and the claims required.
 * Every accepted algorithm needs a key of its kind and every key an
 * algorithm that uses it, so an HMAC secret never verifies an RS256 token
 * nor a public key an HS256 one.
 */


#include <openssl/evp.h>
#include <openssl/pem.h>

#include "ngx_http_sandbox_module.h"


#define NGX_HTTP_SANDBOX_SECRET_MIN   32
#define NGX_HTTP_SANDBOX_SECRET_MAX   4096
#define NGX_HTTP_SANDBOX_PEM_MAX      (64 * 1024)
#define NGX_HTTP_SANDBOX_RSA_BITS     2048


static char *ngx_http_sandbox_jwt_add_key(ngx_conf_t *cf,
    ngx_http_sandbox_jwt_conf_t *jcf, sbx_jwt_key_type_t type,
    ngx_str_t *secret, EVP_PKEY *pkey);
static char *ngx_http_sandbox_jwt_kid(ngx_conf_t *cf,
    ngx_http_sandbox_jwt_conf_t *jcf, ngx_uint_t arg, ngx_str_t *kid);
static char *ngx_http_sandbox_jwt_check_secret(ngx_conf_t *cf,
    ngx_str_t *secret);
static EVP_PKEY *ngx_http_sandbox_jwt_pem_key(ngx_conf_t *cf,
    ngx_str_t *path, ngx_str_t *pem);
static void ngx_http_sandbox_jwt_free_pkey(void *data);
static char *ngx_http_sandbox_jwt_pkey_type(ngx_conf_t *cf, ngx_str_t *path,
    EVP_PKEY *pkey, sbx_jwt_key_type_t *type);
static ngx_uint_t ngx_http_sandbox_jwt_default_algorithms(
    ngx_http_sandbox_jwt_conf_t *jcf);
static char *ngx_http_sandbox_jwt_check_pairs(ngx_conf_t *cf,
    ngx_http_sandbox_jwt_conf_t *jcf);


void
ngx_http_sandbox_jwt_create_conf(ngx_http_sandbox_jwt_conf_t *jcf)
{
    jcf->keys = NGX_CONF_UNSET_PTR;
    jcf->algorithms = NGX_CONF_UNSET_UINT;
    jcf->leeway = NGX_CONF_UNSET;
    jcf->require_exp = NGX_CONF_UNSET;
    jcf->issuers = NGX_CONF_UNSET_PTR;
    jcf->audiences = NGX_CONF_UNSET_PTR;
}


char *
ngx_http_sandbox_jwt_merge_conf(ngx_conf_t *cf,
    ngx_http_sandbox_jwt_conf_t *prev, ngx_http_sandbox_jwt_conf_t *conf)
{
    ngx_conf_merge_ptr_value(conf->keys, prev->keys, NULL);
    ngx_conf_merge_uint_value(conf->algorithms, prev->algorithms, 0);
    ngx_conf_merge_sec_value(conf->leeway, prev->leeway, 60);
    ngx_conf_merge_value(conf->require_exp, prev->require_exp, 1);
    ngx_conf_merge_ptr_value(conf->issuers, prev->issuers, NULL);
    ngx_conf_merge_ptr_value(conf->audiences, prev->audiences, NULL);
    ngx_conf_merge_str_value(conf->user_claim, prev->user_claim, "sub");
    ngx_conf_merge_str_value(conf->scope, prev->scope, "");

    conf->accepted = conf->algorithms
                     ? conf->algorithms
                     : ngx_http_sandbox_jwt_default_algorithms(conf);

    return ngx_http_sandbox_jwt_check_pairs(cf, conf);
}


/* Unless told otherwise, each kind of key configured brings its algorithm. */

static ngx_uint_t
ngx_http_sandbox_jwt_default_algorithms(ngx_http_sandbox_jwt_conf_t *jcf)
{
    ngx_uint_t                   i, algs;
    ngx_http_sandbox_jwt_key_t  *k;

    static const sbx_jwt_alg_t  natural[] = {
        SBX_JWT_HS256, SBX_JWT_RS256, SBX_JWT_ES256
    };

    if (jcf->keys == NULL) {
        return 0;
    }

    algs = 0;
    k = jcf->keys->elts;

    for (i = 0; i < jcf->keys->nelts; i++) {
        algs |= SBX_JWT_ALG_BIT(natural[k[i].type]);
    }

    return algs;
}


static char *
ngx_http_sandbox_jwt_check_pairs(ngx_conf_t *cf,
    ngx_http_sandbox_jwt_conf_t *jcf)
{
    ngx_uint_t                   i, a, kinds, used;
    ngx_http_sandbox_jwt_key_t  *k;

    if (jcf->keys == NULL) {
        return NGX_CONF_OK;
    }

    kinds = 0;
    k = jcf->keys->elts;

    for (i = 0; i < jcf->keys->nelts; i++) {
        kinds |= 1u << k[i].type;
    }

    used = 0;

    for (a = 0; a < SBX_JWT_NALGS; a++) {
        if (!(jcf->accepted & SBX_JWT_ALG_BIT(a))) {
            continue;
        }

        if (!(kinds & (1u << sbx_jwt_alg_key_type(a)))) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "JWT algorithm %s has no key of its kind: "
                               "HS* take \"sandbox_jwt_secret[_file]\", "
                               "RS256 an RSA and ES256 a P-256 "
                               "\"sandbox_jwt_key_file\"",
                               sbx_jwt_alg_name(a));
            return NGX_CONF_ERROR;
        }

        used |= 1u << sbx_jwt_alg_key_type(a);
    }

    if (kinds & ~used) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "a JWT key is configured that no algorithm in "
                           "\"sandbox_jwt_algorithms\" uses");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* sandbox_jwt_secret <secret> [kid=<id>]; */

char *
ngx_http_sandbox_jwt_secret(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_sandbox_loc_conf_t *slcf = conf;

    ngx_str_t  *value;

    value = cf->args->elts;

    if (ngx_http_sandbox_jwt_check_secret(cf, &value[1]) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    return ngx_http_sandbox_jwt_add_key(cf, &slcf->jwt, SBX_JWT_KEY_HMAC,
                                        &value[1], NULL);
}


/* sandbox_jwt_secret_file <path> [kid=<id>]; one trailing newline is cut */

char *
ngx_http_sandbox_jwt_secret_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_sandbox_loc_conf_t *slcf = conf;

    ngx_str_t  *value, path, secret;

    value = cf->args->elts;

    if (ngx_http_sandbox_read_conf_file(cf, &value[1],
                                        NGX_HTTP_SANDBOX_SECRET_MAX + 2,
                                        &path, &secret)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (secret.len && secret.data[secret.len - 1] == '\n') {
        secret.len--;
    }

    if (secret.len && secret.data[secret.len - 1] == '\r') {
        secret.len--;
    }

    if (ngx_http_sandbox_jwt_check_secret(cf, &secret) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    return ngx_http_sandbox_jwt_add_key(cf, &slcf->jwt, SBX_JWT_KEY_HMAC,
                                        &secret, NULL);
}


/*
 * A secret shorter than a SHA-256 output can be guessed offline from one
 * token (RFC 7518 3.2).
 */

static char *
ngx_http_sandbox_jwt_check_secret(ngx_conf_t *cf, ngx_str_t *secret)
{
    if (secret->len < NGX_HTTP_SANDBOX_SECRET_MIN
        || secret->len > NGX_HTTP_SANDBOX_SECRET_MAX)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "a JWT secret must be %d to %d bytes",
                           NGX_HTTP_SANDBOX_SECRET_MIN,
                           NGX_HTTP_SANDBOX_SECRET_MAX);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* sandbox_jwt_key_file <path> [kid=<id>]; a PEM "PUBLIC KEY" */

char *
ngx_http_sandbox_jwt_key_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_sandbox_loc_conf_t *slcf = conf;

    EVP_PKEY            *pkey;
    ngx_str_t           *value, path, pem;
    sbx_jwt_key_type_t   type;

    value = cf->args->elts;

    if (ngx_http_sandbox_read_conf_file(cf, &value[1],
                                        NGX_HTTP_SANDBOX_PEM_MAX, &path, &pem)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    pkey = ngx_http_sandbox_jwt_pem_key(cf, &path, &pem);
    if (pkey == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_sandbox_jwt_pkey_type(cf, &path, pkey, &type) != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    return ngx_http_sandbox_jwt_add_key(cf, &slcf->jwt, type, NULL, pkey);
}


/* The key, freed with the configuration's pool. */

static EVP_PKEY *
ngx_http_sandbox_jwt_pem_key(ngx_conf_t *cf, ngx_str_t *path, ngx_str_t *pem)
{
    BIO                 *bio;
    EVP_PKEY            *pkey;
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    bio = BIO_new_mem_buf(pem->data, (int) pem->len);
    if (bio == NULL) {
        return NULL;
    }

    pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);

    if (pkey == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" holds no PEM \"PUBLIC KEY\"", path);
        return NULL;
    }

    cln->handler = ngx_http_sandbox_jwt_free_pkey;
    cln->data = pkey;

    return pkey;
}


static void
ngx_http_sandbox_jwt_free_pkey(void *data)
{
    EVP_PKEY_free(data);
}


static char *
ngx_http_sandbox_jwt_pkey_type(ngx_conf_t *cf, ngx_str_t *path,
    EVP_PKEY *pkey, sbx_jwt_key_type_t *type)
{
    char  group[64];

    switch (EVP_PKEY_get_base_id(pkey)) {

    case EVP_PKEY_RSA:
        if (EVP_PKEY_get_bits(pkey) < NGX_HTTP_SANDBOX_RSA_BITS) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "the RSA key in \"%V\" has fewer than %d bits",
                               path, NGX_HTTP_SANDBOX_RSA_BITS);
            return NGX_CONF_ERROR;
        }

        *type = SBX_JWT_KEY_RSA;
        return NGX_CONF_OK;

    case EVP_PKEY_EC:
        if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) == 1
            && ngx_strcmp(group, "prime256v1") == 0)
        {
            *type = SBX_JWT_KEY_EC_P256;
            return NGX_CONF_OK;
        }

        break;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "the key in \"%V\" is neither RSA nor EC P-256", path);

    return NGX_CONF_ERROR;
}


/* The key, and its "kid=<id>" when the directive's second argument says. */

static char *
ngx_http_sandbox_jwt_add_key(ngx_conf_t *cf, ngx_http_sandbox_jwt_conf_t *jcf,
    sbx_jwt_key_type_t type, ngx_str_t *secret, EVP_PKEY *pkey)
{
    ngx_str_t                    kid;
    ngx_http_sandbox_jwt_key_t  *k;

    if (ngx_http_sandbox_jwt_kid(cf, jcf, 2, &kid) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (jcf->keys == NGX_CONF_UNSET_PTR) {
        jcf->keys = ngx_array_create(cf->pool, 2,
                                     sizeof(ngx_http_sandbox_jwt_key_t));
        if (jcf->keys == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    k = ngx_array_push(jcf->keys);
    if (k == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(k, sizeof(ngx_http_sandbox_jwt_key_t));

    k->type = type;
    k->kid = kid;
    k->pkey = pkey;

    if (secret != NULL) {
        k->key = *secret;
    }

    return NGX_CONF_OK;
}


/* The optional "kid=<id>" argument; ids are unique in a location. */

static char *
ngx_http_sandbox_jwt_kid(ngx_conf_t *cf, ngx_http_sandbox_jwt_conf_t *jcf,
    ngx_uint_t arg, ngx_str_t *kid)
{
    ngx_str_t                   *value;
    ngx_uint_t                   i;
    ngx_http_sandbox_jwt_key_t  *k;

    ngx_str_null(kid);

    if (cf->args->nelts <= arg) {
        return NGX_CONF_OK;
    }

    value = cf->args->elts;

    if (value[arg].len <= 4 || value[arg].len > 4 + SBX_JWT_KID_MAX
        || ngx_strncmp(value[arg].data, "kid=", 4) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\": expected kid=<id>",
                           &value[arg]);
        return NGX_CONF_ERROR;
    }

    kid->data = value[arg].data + 4;
    kid->len = value[arg].len - 4;

    if (jcf->keys == NGX_CONF_UNSET_PTR) {
        return NGX_CONF_OK;
    }

    k = jcf->keys->elts;

    for (i = 0; i < jcf->keys->nelts; i++) {
        if (k[i].kid.len == kid->len
            && ngx_strncmp(k[i].kid.data, kid->data, kid->len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate JWT key id \"%V\"", kid);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* sandbox_jwt_algorithms HS256 | HS384 | HS512 | RS256 | ES256 ...; */

char *
ngx_http_sandbox_jwt_algorithms(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_sandbox_loc_conf_t *slcf = conf;

    int         alg;
    ngx_str_t  *value;
    ngx_uint_t  i;

    if (slcf->jwt.algorithms != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    slcf->jwt.algorithms = 0;

    for (i = 1; i < cf->args->nelts; i++) {
        alg = sbx_jwt_alg_from_name((const char *) value[i].data,
                                    value[i].len);
        if (alg < 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unsupported JWT algorithm \"%V\": use HS256, "
                               "HS384, HS512, RS256 or ES256", &value[i]);
            return NGX_CONF_ERROR;
        }

        slcf->jwt.algorithms |= SBX_JWT_ALG_BIT(alg);
    }

    return NGX_CONF_OK;
}
