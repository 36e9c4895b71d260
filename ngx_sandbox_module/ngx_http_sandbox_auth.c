
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Authentication in the ACCESS phase, as auth_request does it: an API key
 * (X-API-Key) or an HS256 JWT (Authorization: Bearer) names the user.
 */


#include <jwt.h>

#include "ngx_http_sandbox_module.h"


#define NGX_HTTP_SANDBOX_TOKEN_MAX  8192


static ngx_int_t ngx_http_sandbox_auth_api_key(ngx_http_request_t *r,
    ngx_http_sandbox_loc_conf_t *slcf, ngx_http_sandbox_ctx_t *ctx,
    ngx_str_t *key);
static ngx_int_t ngx_http_sandbox_auth_jwt(ngx_http_request_t *r,
    ngx_http_sandbox_loc_conf_t *slcf, ngx_http_sandbox_ctx_t *ctx,
    ngx_str_t *token);
static ngx_int_t ngx_http_sandbox_jwt_user(ngx_http_request_t *r,
    jwt_t *jwt, ngx_int_t alg, ngx_http_sandbox_ctx_t *ctx);
static ngx_int_t ngx_http_sandbox_unauthorized(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, const char *code, const char *message);
static ngx_table_elt_t *ngx_http_sandbox_find_header(ngx_http_request_t *r,
    const char *name, size_t len);
static ngx_uint_t ngx_http_sandbox_bearer(ngx_http_request_t *r,
    ngx_str_t *token);
static ngx_uint_t ngx_http_sandbox_equal(ngx_str_t *a, ngx_str_t *b);
static char *ngx_http_sandbox_key_line(ngx_conf_t *cf,
    ngx_http_sandbox_loc_conf_t *slcf, ngx_str_t *path, ngx_uint_t line,
    u_char *p, u_char *end);


ngx_int_t
ngx_http_sandbox_access_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_str_t                     token;
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

    if (ngx_http_sandbox_bearer(r, &token) && slcf->jwt_secret.len) {
        rc = ngx_http_sandbox_auth_jwt(r, slcf, ctx, &token);
        return rc == NGX_OK ? ngx_http_sandbox_limit_check(r, ctx) : rc;
    }

    return ngx_http_sandbox_unauthorized(r, ctx, "unauthorized",
               "credentials are required: send X-API-Key or "
               "Authorization: Bearer");
}


/*
 * Every configured key is compared in full, so that the time taken does
 * not tell how much of a guess was right.
 */

static ngx_int_t
ngx_http_sandbox_auth_api_key(ngx_http_request_t *r,
    ngx_http_sandbox_loc_conf_t *slcf, ngx_http_sandbox_ctx_t *ctx,
    ngx_str_t *key)
{
    ngx_str_t                   *user;
    ngx_uint_t                   i;
    ngx_http_sandbox_api_key_t  *k;

    user = NULL;
    k = slcf->api_keys->elts;

    for (i = 0; i < slcf->api_keys->nelts; i++) {
        if (ngx_http_sandbox_equal(&k[i].key, key) && user == NULL) {
            user = &k[i].user;
        }
    }

    if (user == NULL) {
        return ngx_http_sandbox_unauthorized(r, ctx, "invalid_api_key",
                                             "the API key is not valid");
    }

    ctx->user = *user;

    return NGX_OK;
}


static ngx_int_t
ngx_http_sandbox_auth_jwt(ngx_http_request_t *r,
    ngx_http_sandbox_loc_conf_t *slcf, ngx_http_sandbox_ctx_t *ctx,
    ngx_str_t *token)
{
    char       *s;
    jwt_t      *jwt;
    ngx_int_t   rc;

    if (token->len == 0 || token->len > NGX_HTTP_SANDBOX_TOKEN_MAX) {
        return ngx_http_sandbox_unauthorized(r, ctx, "invalid_token",
                                             "the bearer token is malformed");
    }

    s = (char *) ngx_pnalloc(r->pool, token->len + 1);
    if (s == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(s, token->data, token->len);
    s[token->len] = '\0';

    jwt = NULL;

    if (jwt_decode(&jwt, s, slcf->jwt_secret.data, (int) slcf->jwt_secret.len)
        != 0)
    {
        return ngx_http_sandbox_unauthorized(r, ctx, "invalid_token",
                   "the bearer token's format or signature is not valid");
    }

    rc = ngx_http_sandbox_jwt_user(r, jwt, slcf->jwt_algorithm, ctx);

    jwt_free(jwt);

    return rc;
}


/*
 * The algorithm is pinned by configuration, whatever the token's header
 * says; "exp" is required and checked; "sub" names the user.
 */

static ngx_int_t
ngx_http_sandbox_jwt_user(ngx_http_request_t *r, jwt_t *jwt, ngx_int_t alg,
    ngx_http_sandbox_ctx_t *ctx)
{
    long         exp;
    size_t       len;
    const char  *sub;

    if ((ngx_int_t) jwt_get_alg(jwt) != alg) {
        return ngx_http_sandbox_unauthorized(r, ctx, "invalid_token",
                   "the bearer token's algorithm is not accepted");
    }

    errno = 0;
    exp = jwt_get_grant_int(jwt, "exp");

    if (errno != 0) {
        return ngx_http_sandbox_unauthorized(r, ctx, "invalid_token",
                   "the bearer token has no \"exp\" claim");
    }

    if (exp <= (long) ngx_time()) {
        return ngx_http_sandbox_unauthorized(r, ctx, "token_expired",
                                             "the bearer token has expired");
    }

    sub = jwt_get_grant(jwt, "sub");
    len = sub ? ngx_strlen(sub) : 0;

    if (sub == NULL || !sbx_user_id_valid(sub, len)) {
        return ngx_http_sandbox_unauthorized(r, ctx, "invalid_token",
                   "the bearer token has no valid \"sub\" claim");
    }

    if (ngx_http_sandbox_cstr(r->pool, &ctx->user, sub) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_sandbox_unauthorized(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, const char *code, const char *message)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "WWW-Authenticate");
    ngx_str_set(&h->value, "Bearer realm=\"sandbox\"");

    return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_UNAUTHORIZED, code,
                                 message);
}


static ngx_table_elt_t *
ngx_http_sandbox_find_header(ngx_http_request_t *r, const char *name,
    size_t len)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }
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


/* A comparison whose time depends on the lengths only, not the bytes. */

static ngx_uint_t
ngx_http_sandbox_equal(ngx_str_t *a, ngx_str_t *b)
{
    size_t  i;
    u_char  diff;

    if (a->len == 0) {
        return 0;
    }

    diff = (a->len != b->len);

    for (i = 0; i < b->len; i++) {
        diff |= a->data[i % a->len] ^ b->data[i];
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
 * Adds a key and the user it names; NGX_DECLINED when the key is empty or
 * the user id is not one (1 to 256 bytes, no control characters).
 */

ngx_int_t
ngx_http_sandbox_add_api_key(ngx_conf_t *cf,
    ngx_http_sandbox_loc_conf_t *slcf, ngx_str_t *key, ngx_str_t *user)
{
    ngx_http_sandbox_api_key_t  *k;

    if (key->len == 0
        || !sbx_user_id_valid((const char *) user->data, user->len))
    {
        return NGX_DECLINED;
    }

    if (slcf->api_keys == NGX_CONF_UNSET_PTR) {
        slcf->api_keys = ngx_array_create(cf->pool, 4,
                                          sizeof(ngx_http_sandbox_api_key_t));
        if (slcf->api_keys == NULL) {
            return NGX_ERROR;
        }
    }

    k = ngx_array_push(slcf->api_keys);
    if (k == NULL) {
        return NGX_ERROR;
    }

    k->key = *key;
    k->user = *user;

    return NGX_OK;
}
