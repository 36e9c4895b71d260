
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Verifies a bearer JWT.  The header is judged first: its algorithm must
 * be one configured, and it chooses among the configured keys of that
 * algorithm's kind only (by "kid" when it names one).  The signature is
 * checked next, with such a key (ngx_http_sandbox_jws.c), and the claims
 * last.  "typ" is not judged: "JWT" and RFC 9068's "at+jwt" are alike.
 */


#include "ngx_http_sandbox_module.h"


static cJSON *ngx_http_sandbox_jwt_part(ngx_http_request_t *r,
    const sbx_str_t *part);
static sbx_jwt_error_t ngx_http_sandbox_jwt_signature(ngx_http_request_t *r,
    ngx_http_sandbox_jwt_conf_t *jcf, sbx_jwt_parts_t *parts,
    sbx_jwt_alg_t alg, const char *kid);
static ngx_uint_t ngx_http_sandbox_jwt_kid_is(ngx_http_sandbox_jwt_key_t *k,
    const char *kid);
static sbx_jwt_error_t ngx_http_sandbox_jwt_claims(ngx_http_request_t *r,
    ngx_http_sandbox_jwt_conf_t *jcf, cJSON *claims, ngx_str_t *user);


sbx_jwt_error_t
ngx_http_sandbox_jwt_verify(ngx_http_request_t *r,
    ngx_http_sandbox_jwt_conf_t *jcf, ngx_str_t *token, ngx_str_t *user)
{
    cJSON            *header, *claims;
    const char       *kid;
    sbx_jwt_alg_t     alg;
    sbx_jwt_parts_t   parts;
    sbx_jwt_error_t   rc;

    rc = sbx_jwt_split((const char *) token->data, token->len, &parts);
    if (rc != SBX_JWT_OK) {
        return rc;
    }

    header = ngx_http_sandbox_jwt_part(r, &parts.header);
    if (header == NULL) {
        return SBX_JWT_MALFORMED;
    }

    rc = sbx_jwt_check_header(header, (unsigned) jcf->accepted, &alg,
                              &kid);

    if (rc == SBX_JWT_OK && parts.signature.len == 0) {
        rc = SBX_JWT_NO_SIGNATURE;
    }

    if (rc == SBX_JWT_OK) {
        rc = ngx_http_sandbox_jwt_signature(r, jcf, &parts, alg, kid);
    }

    cJSON_Delete(header);

    if (rc != SBX_JWT_OK) {
        return rc;
    }

    claims = ngx_http_sandbox_jwt_part(r, &parts.payload);
    if (claims == NULL) {
        return SBX_JWT_MALFORMED;
    }

    rc = ngx_http_sandbox_jwt_claims(r, jcf, claims, user);

    cJSON_Delete(claims);

    return rc;
}


/* A base64url part decoded to a JSON object; NULL when it is not one. */

static cJSON *
ngx_http_sandbox_jwt_part(ngx_http_request_t *r, const sbx_str_t *part)
{
    cJSON      *json;
    ngx_str_t   src, dst;

    src.data = (u_char *) part->data;
    src.len = part->len;

    dst.data = ngx_pnalloc(r->pool, ngx_base64_decoded_length(src.len));
    if (dst.data == NULL) {
        return NULL;
    }

    if (ngx_decode_base64url(&dst, &src) != NGX_OK
        || sbx_json_has_nul((const char *) dst.data, dst.len))
    {
        return NULL;
    }

    json = cJSON_ParseWithLength((const char *) dst.data, dst.len);

    if (json != NULL && !cJSON_IsObject(json)) {
        cJSON_Delete(json);
        return NULL;
    }

    return json;
}


/*
 * A token that names its key is checked with that key alone; one that
 * does not, with each key of its algorithm's kind in turn (a rotation).
 */

static sbx_jwt_error_t
ngx_http_sandbox_jwt_signature(ngx_http_request_t *r,
    ngx_http_sandbox_jwt_conf_t *jcf, sbx_jwt_parts_t *parts,
    sbx_jwt_alg_t alg, const char *kid)
{
    ngx_str_t                    input, encoded, sig;
    ngx_uint_t                   i, named;
    sbx_jwt_key_type_t           type;
    ngx_http_sandbox_jwt_key_t  *k;

    /* the signed input: "header.payload" */

    input.data = (u_char *) parts->header.data;
    input.len = parts->signature.data - 1 - parts->header.data;

    encoded.data = (u_char *) parts->signature.data;
    encoded.len = parts->signature.len;

    sig.data = ngx_pnalloc(r->pool, ngx_base64_decoded_length(encoded.len));
    if (sig.data == NULL || ngx_decode_base64url(&sig, &encoded) != NGX_OK) {
        return SBX_JWT_MALFORMED;
    }

    type = sbx_jwt_alg_key_type(alg);
    named = 0;
    k = jcf->keys->elts;

    for (i = 0; i < jcf->keys->nelts; i++) {

        if (kid != NULL && !ngx_http_sandbox_jwt_kid_is(&k[i], kid)) {
            continue;
        }

        named = 1;

        if (k[i].type == type
            && ngx_http_sandbox_jws_verify(&k[i], alg, &input, &sig))
        {
            return SBX_JWT_OK;
        }
    }

    return named ? SBX_JWT_BAD_SIGNATURE : SBX_JWT_UNKNOWN_KID;
}


static ngx_uint_t
ngx_http_sandbox_jwt_kid_is(ngx_http_sandbox_jwt_key_t *k, const char *kid)
{
    size_t  len;

    len = ngx_strlen(kid);

    return k->kid.len == len && ngx_strncmp(k->kid.data, kid, len) == 0;
}


static sbx_jwt_error_t
ngx_http_sandbox_jwt_claims(ngx_http_request_t *r,
    ngx_http_sandbox_jwt_conf_t *jcf, cJSON *claims, ngx_str_t *user)
{
    const char       *name;
    sbx_str_t         scope;
    sbx_jwt_clock_t   clock;
    sbx_jwt_error_t   rc;

    clock.now = ngx_time();
    clock.leeway = jcf->leeway;
    clock.require_exp = (int) jcf->require_exp;

    rc = sbx_jwt_check_times(claims, &clock);
    if (rc != SBX_JWT_OK) {
        return rc;
    }

    if (jcf->issuers
        && !sbx_jwt_claim_matches(claims, "iss", jcf->issuers->elts,
                                  jcf->issuers->nelts))
    {
        return SBX_JWT_BAD_ISSUER;
    }

    if (jcf->audiences
        && !sbx_jwt_claim_matches(claims, "aud", jcf->audiences->elts,
                                  jcf->audiences->nelts))
    {
        return SBX_JWT_BAD_AUDIENCE;
    }

    name = sbx_jwt_user(claims, (const char *) jcf->user_claim.data);

    if (name == NULL || ngx_http_sandbox_cstr(r->pool, user, name) != NGX_OK)
    {
        return SBX_JWT_NO_USER;
    }

    if (jcf->scope.len) {
        scope.data = (const char *) jcf->scope.data;
        scope.len = jcf->scope.len;

        if (!sbx_jwt_has_scope(claims, &scope)) {
            return SBX_JWT_NO_SCOPE;
        }
    }

    return SBX_JWT_OK;
}
