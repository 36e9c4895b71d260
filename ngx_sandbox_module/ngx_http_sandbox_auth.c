/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Authentication in the ACCESS phase, as auth_request does it: an API key
 * (X-API-Key) or a JWT (Authorization: Bearer) names the user.  Missing or
 * bad credentials get 401 with a WWW-Authenticate challenge (RFC 6750); a
 * token that is good but lacks the required scope gets 403.  Where
 * sandbox_anonymous is set, a request without credentials acts as the
 * anonymous user; one with credentials is checked as anywhere else.
 */


#include <openssl/evp.h>

#include "ngx_http_sandbox_module.h"


#define NGX_HTTP_SANDBOX_API_KEY_MAX  1024


/* How a refused token is answered. */
typedef struct {
    ngx_uint_t   status;
    const char  *code;
    const char  *message;
} ngx_http_sandbox_refusal_t;


static ngx_int_t ngx_http_sandbox_auth_api_key(ngx_http_request_t *r,
    ngx_http_sandbox_loc_conf_t *slcf, ngx_http_sandbox_ctx_t *ctx,
    ngx_str_t *key);
static ngx_int_t ngx_http_sandbox_auth_jwt(ngx_http_request_t *r,
    ngx_http_sandbox_loc_conf_t *slcf, ngx_http_sandbox_ctx_t *ctx,
    ngx_str_t *token);
static ngx_int_t ngx_http_sandbox_auth_anonymous(ngx_http_request_t *r,
    ngx_http_sandbox_loc_conf_t *slcf, ngx_http_sandbox_ctx_t *ctx,
    ngx_uint_t sent);
static ngx_int_t ngx_http_sandbox_challenge(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_uint_t status, const char *code,
    const char *message, ngx_str_t *scope);
static ngx_int_t ngx_http_sandbox_key_digest(ngx_str_t *key, u_char *digest);
static ngx_uint_t ngx_http_sandbox_bearer(ngx_http_request_t *r,
    ngx_str_t *token);
static ngx_uint_t ngx_http_sandbox_digest_equal(const u_char *a,
    const u_char *b);
static ngx_int_t ngx_http_sandbox_hex_digest(ngx_str_t *hex, u_char *digest);
static char *ngx_http_sandbox_key_line(ngx_conf_t *cf,
    ngx_http_sandbox_loc_conf_t *slcf, ngx_str_t *path, ngx_uint_t line,
    u_char *p, u_char *end);


/* Indexed by sbx_jwt_error_t. */
static ngx_http_sandbox_refusal_t  ngx_http_sandbox_jwt_refusals[] = {
    { 0, NULL, NULL },
    { 401, "invalid_token", "the bearer token is malformed" },
    { 401, "invalid_token", "the bearer token is too large" },
    { 401, "invalid_token", "the bearer token's algorithm is not accepted" },
    { 401, "invalid_token",
      "the bearer token's header names a key of its own (jku, jwk, x5u, "
      "x5c): refused" },
    { 401, "invalid_token",
      "the bearer token's header has critical extensions: refused" },
    { 401, "invalid_token", "the bearer token is not signed" },
    { 401, "invalid_token", "the bearer token's \"kid\" names no known key" },
    { 401, "invalid_token", "the bearer token's signature is not valid" },
    { 401, "invalid_token", "the bearer token has no \"exp\" claim" },
    { 401, "token_expired", "the bearer token has expired" },
    { 401, "token_not_yet_valid",
      "the bearer token is not valid yet (\"nbf\" or \"iat\")" },
    { 401, "invalid_token",
      "the bearer token's \"exp\", \"nbf\" or \"iat\" is not a number" },
    { 401, "invalid_token", "the bearer token's issuer is not accepted" },
    { 401, "invalid_token", "the bearer token's audience is not accepted" },
    { 401, "invalid_token", "the bearer token names no valid user" },
    { 403, "insufficient_scope",
      "the bearer token lacks the scope this endpoint requires" }
};


/*
 * The rate limit is checked here, once the user is known, and not in
 * PREACCESS as limit_req is: it is keyed by the authenticated user, who is
 * not known before this phase, and a second ACCESS handler would be
 * skipped under "satisfy any" once this one said NGX_OK.
 */

ngx_int_t
ngx_http_sandbox_access_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_str_t                     token;
    ngx_uint_t                    bearer;
    ngx_table_elt_t              *key;
    ngx_http_sandbox_ctx_t       *ctx;
    ngx_http_sandbox_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_sandbox_module);

    if (!slcf->enable) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_sandbox_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->route == NULL || ctx->route->public) {
        return NGX_DECLINED;
    }

    key = ngx_http_sandbox_find_header(r, "X-API-Key",
                                       sizeof("X-API-Key") - 1);

    if (key != NULL && slcf->api_keys != NULL) {
        rc = ngx_http_sandbox_auth_api_key(r, slcf, ctx, &key->value);
        return rc == NGX_OK ? ngx_http_sandbox_limit_check(r, ctx) : rc;
    }

    bearer = ngx_http_sandbox_bearer(r, &token);

    if (bearer && slcf->jwt.keys != NULL) {
        rc = ngx_http_sandbox_auth_jwt(r, slcf, ctx, &token);
        return rc == NGX_OK ? ngx_http_sandbox_limit_check(r, ctx) : rc;
    }

    if (slcf->anonymous.len == 0) {
        return ngx_http_sandbox_challenge(r, ctx, NGX_HTTP_UNAUTHORIZED,
                   "unauthorized",
                   "credentials are required: send X-API-Key or "
                   "Authorization: Bearer", NULL);
    }

    return ngx_http_sandbox_auth_anonymous(r, slcf, ctx,
                                           key != NULL || bearer);
}


/*
 * Credentials of a kind this location does not check (an API key where
 * only tokens are configured, say) are refused, not ignored: whoever sent
 * them meant to be someone, and acting as the anonymous user instead would
 * hide the mistake and mix their sessions with everybody else's.
 *
 * The anonymous user is no proof of anything: NGX_DECLINED, not NGX_OK,
 * so that under "satisfy any" allow/deny, auth_basic and auth_request
 * still decide (NGX_OK would skip them); under "satisfy all" both go on.
 */

static ngx_int_t
ngx_http_sandbox_auth_anonymous(ngx_http_request_t *r,
    ngx_http_sandbox_loc_conf_t *slcf, ngx_http_sandbox_ctx_t *ctx,
    ngx_uint_t sent)
{
    ngx_int_t  rc;

    if (sent) {
        return ngx_http_sandbox_challenge(r, ctx, NGX_HTTP_UNAUTHORIZED,
                   "unauthorized",
                   "this location does not accept the credentials sent: "
                   "send none to act as its anonymous user", NULL);
    }

    ctx->user = slcf->anonymous;

    rc = ngx_http_sandbox_limit_check(r, ctx);

    return rc == NGX_OK ? NGX_DECLINED : rc;
}


/*
 * The key's digest is compared with every configured digest, so that the
 * time taken tells neither which key nor how much of it was right.
 */

static ngx_int_t
ngx_http_sandbox_auth_api_key(ngx_http_request_t *r,
    ngx_http_sandbox_loc_conf_t *slcf, ngx_http_sandbox_ctx_t *ctx,
    ngx_str_t *key)
{
    u_char                       digest[NGX_HTTP_SANDBOX_KEY_DIGEST_LEN];
    ngx_str_t                   *user;
    ngx_uint_t                   i, match;
    ngx_http_sandbox_api_key_t  *k;

    if (key->len == 0 || key->len > NGX_HTTP_SANDBOX_API_KEY_MAX
        || ngx_http_sandbox_key_digest(key, digest) != NGX_OK)
    {
        return ngx_http_sandbox_challenge(r, ctx, NGX_HTTP_UNAUTHORIZED,
                                          "invalid_api_key",
                                          "the API key is not valid", NULL);
    }

    user = NULL;
    k = slcf->api_keys->elts;

    for (i = 0; i < slcf->api_keys->nelts; i++) {
        match = ngx_http_sandbox_digest_equal(k[i].digest, digest);

        if (match && user == NULL) {
            user = &k[i].user;
        }
    }

    if (user == NULL) {
        return ngx_http_sandbox_challenge(r, ctx, NGX_HTTP_UNAUTHORIZED,
                                          "invalid_api_key",
                                          "the API key is not valid", NULL);
    }

    ctx->user = *user;

    return NGX_OK;
}


static ngx_int_t
ngx_http_sandbox_auth_jwt(ngx_http_request_t *r,
    ngx_http_sandbox_loc_conf_t *slcf, ngx_http_sandbox_ctx_t *ctx,
    ngx_str_t *token)
{
    sbx_jwt_error_t              rc;
    ngx_http_sandbox_refusal_t  *refusal;

    rc = ngx_http_sandbox_jwt_verify(r, &slcf->jwt, token, &ctx->user);

    if (rc == SBX_JWT_OK) {
        return NGX_OK;
    }

    ngx_str_null(&ctx->user);

    refusal = &ngx_http_sandbox_jwt_refusals[rc];

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "sandbox: bearer token refused: %s", refusal->message);

    return ngx_http_sandbox_challenge(r, ctx, refusal->status, refusal->code,
                                      refusal->message, &slcf->jwt.scope);
}


/*
 * 401 or 403 with its challenge (RFC 6750 3): "Bearer realm" alone when no
 * token was refused, else with the token's error, and for 403 the scope
 * that was missing.
 */

static ngx_int_t
ngx_http_sandbox_challenge(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_uint_t status, const char *code,
    const char *message, ngx_str_t *scope)
{
    u_char      *p;
    size_t       len;
    ngx_str_t    value;
    const char  *error;

    ngx_str_set(&value, "Bearer realm=\"sandbox\"");

    if (scope != NULL) {
        error = (status == NGX_HTTP_FORBIDDEN) ? "insufficient_scope"
                                               : "invalid_token";

        len = sizeof("Bearer realm=\"sandbox\", error=\"\", scope=\"\"") - 1
              + ngx_strlen(error) + scope->len;

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        value.data = p;

        p = ngx_sprintf(p, "Bearer realm=\"sandbox\", error=\"%s\"", error);

        if (status == NGX_HTTP_FORBIDDEN) {
            p = ngx_sprintf(p, ", scope=\"%V\"", scope);
        }

        value.len = p - value.data;
    }

    if (ngx_http_sandbox_add_header(r, "WWW-Authenticate", &value) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_sandbox_fail(r, ctx, status, code, message);
}


static ngx_int_t
ngx_http_sandbox_key_digest(ngx_str_t *key, u_char *digest)
{
    if (EVP_Digest(key->data, key->len, digest, NULL, EVP_sha256(), NULL)
        != 1)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_http_sandbox_bearer(ngx_http_request_t *r, ngx_str_t *token)
{
    ngx_table_elt_t  *h;

    h = r->headers_in.authorization;

    if (h == NULL || h->value.len < sizeof("Bearer ") - 1
        || ngx_strncasecmp(h->value.data, (u_char *) "Bearer ",
                           sizeof("Bearer ") - 1)
           != 0)
    {
        return 0;
    }

    token->data = h->value.data + sizeof("Bearer ") - 1;
    token->len = h->value.len - (sizeof("Bearer ") - 1);

    while (token->len && *token->data == ' ') {
        token->data++;
        token->len--;
    }

    return 1;
}


/* A comparison whose time does not depend on the bytes. */

static ngx_uint_t
ngx_http_sandbox_digest_equal(const u_char *a, const u_char *b)
{
    ngx_uint_t  i;
    u_char      diff;

    diff = 0;

    for (i = 0; i < NGX_HTTP_SANDBOX_KEY_DIGEST_LEN; i++) {
        diff |= a[i] ^ b[i];
    }

    return diff == 0;
}


/*
 * Reads a key file: one "key user" pair a line; blank lines and lines
 * starting with '#' are skipped.  Called while the configuration is read,
 * so that "nginx -s reload" reads the file again.
 */

char *
ngx_http_sandbox_load_key_file(ngx_conf_t *cf,
    ngx_http_sandbox_loc_conf_t *slcf, ngx_str_t *name)
{
    u_char      *p, *end, *eol;
    ngx_str_t    path, content;
    ngx_uint_t   line;

    if (ngx_http_sandbox_read_conf_file(cf, name, 16 * 1024 * 1024, &path,
                                        &content)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    p = content.data;
    end = p + content.len;

    for (line = 1; p < end; line++, p = eol + 1) {
        eol = ngx_strlchr(p, end, '\n');

        if (eol == NULL) {
            eol = end;
        }

        if (ngx_http_sandbox_key_line(cf, slcf, &path, line, p, eol)
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_sandbox_key_line(ngx_conf_t *cf, ngx_http_sandbox_loc_conf_t *slcf,
    ngx_str_t *path, ngx_uint_t line, u_char *p, u_char *end)
{
    u_char     *sp;
    ngx_int_t   rc;
    ngx_str_t   key, user;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
    {
        end--;
    }

    if (p == end || *p == '#') {
        return NGX_CONF_OK;
    }

    sp = p;

    while (sp < end && *sp != ' ' && *sp != '\t') {
        sp++;
    }

    key.data = p;
    key.len = sp - p;

    while (sp < end && (*sp == ' ' || *sp == '\t')) {
        sp++;
    }

    user.data = sp;
    user.len = end - sp;

    rc = NGX_DECLINED;

    if (!ngx_strlchr(sp, end, ' ') && !ngx_strlchr(sp, end, '\t')) {
        rc = ngx_http_sandbox_add_api_key(cf, slcf, &key, &user);
    }

    if (rc == NGX_DECLINED) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" line %ui: expected \"<key> <user>\"",
                           path, line);
    }

    return rc == NGX_OK ? NGX_CONF_OK : NGX_CONF_ERROR;
}


/*
 * Adds a key and the user it names.  The key is "sha256:" and the 64 hex
 * digits of its SHA-256 digest, or the key itself; only the digest is
 * kept.  NGX_DECLINED when the key is empty, longer than a request may
 * send, or a malformed digest, or when the user id is not one (1 to 256
 * bytes, no control characters); NGX_ERROR (logged) for a key given
 * twice.
 */

ngx_int_t
ngx_http_sandbox_add_api_key(ngx_conf_t *cf,
    ngx_http_sandbox_loc_conf_t *slcf, ngx_str_t *key, ngx_str_t *user)
{
    u_char                       digest[NGX_HTTP_SANDBOX_KEY_DIGEST_LEN];
    ngx_int_t                    rc;
    ngx_str_t                    hex;
    ngx_uint_t                   i;
    ngx_http_sandbox_api_key_t  *k;

    if (key->len == 0 || key->len > NGX_HTTP_SANDBOX_API_KEY_MAX
        || !sbx_user_id_valid((const char *) user->data, user->len))
    {
        return NGX_DECLINED;
    }

    if (key->len > sizeof("sha256:") - 1
        && ngx_strncmp(key->data, "sha256:", sizeof("sha256:") - 1) == 0)
    {
        hex.data = key->data + sizeof("sha256:") - 1;
        hex.len = key->len - (sizeof("sha256:") - 1);

        rc = ngx_http_sandbox_hex_digest(&hex, digest);

    } else {
        rc = ngx_http_sandbox_key_digest(key, digest);
    }

    if (rc != NGX_OK) {
        return rc;
    }

    if (slcf->api_keys == NGX_CONF_UNSET_PTR) {
        slcf->api_keys = ngx_array_create(cf->pool, 4,
                                          sizeof(ngx_http_sandbox_api_key_t));
        if (slcf->api_keys == NULL) {
            return NGX_ERROR;
        }
    }

    /* one key naming two users would leave the user to the order of lines */

    k = slcf->api_keys->elts;

    for (i = 0; i < slcf->api_keys->nelts; i++) {
        if (ngx_memcmp(k[i].digest, digest, sizeof(digest)) == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate API key (of users \"%V\" and "
                               "\"%V\")", &k[i].user, user);
            return NGX_ERROR;
        }
    }

    k = ngx_array_push(slcf->api_keys);
    if (k == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(k->digest, digest, sizeof(digest));
    k->user = *user;

    return NGX_OK;
}


static ngx_int_t
ngx_http_sandbox_hex_digest(ngx_str_t *hex, u_char *digest)
{
    ngx_uint_t  i;
    ngx_int_t   byte;

    if (hex->len != 2 * NGX_HTTP_SANDBOX_KEY_DIGEST_LEN) {
        return NGX_DECLINED;
    }

    for (i = 0; i < NGX_HTTP_SANDBOX_KEY_DIGEST_LEN; i++) {
        byte = ngx_hextoi(hex->data + 2 * i, 2);

        if (byte == NGX_ERROR) {
            return NGX_DECLINED;
        }

        digest[i] = (u_char) byte;
    }

    return NGX_OK;
}
