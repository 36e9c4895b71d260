
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * CORS, off unless configured: the origins a browser may call the API
 * from, the methods and request headers it may use.  A preflight
 * (OPTIONS with Origin and Access-Control-Request-Method) is answered
 * before authentication, as browsers send it without credentials: 204
 * when everything asked for is allowed, 403 JSON when not.  Every other
 * response to an allowed origin carries Access-Control-Allow-Origin and
 * exposes the headers a client reads (RateLimit-*, Retry-After,
 * X-Request-Id, WWW-Authenticate).
 */


#include "ngx_http_sandbox_module.h"


#define NGX_HTTP_SANDBOX_CORS_EXPOSE                                          \
    "RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, "                 \
    "RateLimit-Policy, Retry-After, "                                         \
    "X-Request-Id, WWW-Authenticate, Location"


static ngx_array_t *ngx_http_sandbox_cors_names(ngx_conf_t *cf,
    const char **names);
static ngx_str_t *ngx_http_sandbox_cors_origin(ngx_http_request_t *r,
    ngx_http_sandbox_cors_conf_t *ccf);
static ngx_int_t ngx_http_sandbox_cors_allowed_method(
    ngx_http_sandbox_cors_conf_t *ccf, ngx_str_t *method);
static ngx_int_t ngx_http_sandbox_cors_allowed_headers(
    ngx_http_sandbox_cors_conf_t *ccf, ngx_str_t *list);
static ngx_uint_t ngx_http_sandbox_cors_in(ngx_array_t *names,
    u_char *p, size_t len);
static ngx_uint_t ngx_http_sandbox_cors_any(ngx_http_sandbox_cors_conf_t *ccf);
static ngx_int_t ngx_http_sandbox_cors_allow_origin(ngx_http_request_t *r,
    ngx_http_sandbox_cors_conf_t *ccf, ngx_str_t *origin);
static ngx_int_t ngx_http_sandbox_cors_preflight_headers(
    ngx_http_request_t *r, ngx_http_sandbox_cors_conf_t *ccf);
static char *ngx_http_sandbox_cors_join(ngx_conf_t *cf, ngx_array_t *names,
    ngx_str_t *joined);


static const char  *ngx_http_sandbox_cors_default_methods[] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", NULL
};

static const char  *ngx_http_sandbox_cors_default_headers[] = {
    "Authorization", "Content-Type", "X-API-Key", "Accept", NULL
};


void
ngx_http_sandbox_cors_create_conf(ngx_http_sandbox_cors_conf_t *ccf)
{
    ccf->origins = NGX_CONF_UNSET_PTR;
    ccf->methods = NGX_CONF_UNSET_PTR;
    ccf->headers = NGX_CONF_UNSET_PTR;
    ccf->max_age = NGX_CONF_UNSET;
}


static ngx_array_t *
ngx_http_sandbox_cors_names(ngx_conf_t *cf, const char **names)
{
    sbx_str_t    *s;
    ngx_array_t  *a;

    a = ngx_array_create(cf->pool, 8, sizeof(sbx_str_t));
    if (a == NULL) {
        return NULL;
    }

    for ( /* void */ ; *names; names++) {
        s = ngx_array_push(a);
        if (s == NULL) {
            return NULL;
        }

        s->data = *names;
        s->len = ngx_strlen(*names);
    }

    return a;
}


char *
ngx_http_sandbox_cors_merge_conf(ngx_conf_t *cf,
    ngx_http_sandbox_cors_conf_t *prev, ngx_http_sandbox_cors_conf_t *conf)
{
    ngx_conf_merge_ptr_value(conf->origins, prev->origins, NULL);
    ngx_conf_merge_ptr_value(conf->methods, prev->methods, NULL);
    ngx_conf_merge_ptr_value(conf->headers, prev->headers, NULL);
    ngx_conf_merge_sec_value(conf->max_age, prev->max_age, 600);

    if (conf->methods == NULL) {
        conf->methods = ngx_http_sandbox_cors_names(cf,
                            ngx_http_sandbox_cors_default_methods);
    }

    if (conf->headers == NULL) {
        conf->headers = ngx_http_sandbox_cors_names(cf,
                            ngx_http_sandbox_cors_default_headers);
    }

    if (conf->methods == NULL || conf->headers == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_sandbox_cors_join(cf, conf->methods, &conf->methods_joined)
        != NGX_CONF_OK
        || ngx_http_sandbox_cors_join(cf, conf->headers,
                                      &conf->headers_joined)
           != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* "a, b, c", as the Access-Control-Allow-* headers list them */

static char *
ngx_http_sandbox_cors_join(ngx_conf_t *cf, ngx_array_t *names,
    ngx_str_t *joined)
{
    u_char      *p;
    size_t       len;
    sbx_str_t   *s;
    ngx_uint_t   i;

    s = names->elts;
    len = 0;

    for (i = 0; i < names->nelts; i++) {
        len += s[i].len + 2;
    }

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    joined->data = p;

    for (i = 0; i < names->nelts; i++) {
        if (i) {
            *p++ = ',';
            *p++ = ' ';
        }

        p = ngx_cpymem(p, s[i].data, s[i].len);
    }

    joined->len = p - joined->data;

    return NGX_CONF_OK;
}


/* sandbox_cors_origins off | * | <origin> ...; */

char *
ngx_http_sandbox_cors_origins(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_sandbox_loc_conf_t *slcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i;

    if (slcf->cors.origins != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        slcf->cors.origins = NULL;
        return NGX_CONF_OK;
    }

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 1 && value[i].data[0] == '*') {
            if (cf->args->nelts != 2) {
                return "takes \"*\" alone";
            }

            continue;
        }

        if (ngx_strcmp(value[i].data, "null") != 0
            && ngx_strncmp(value[i].data, "https://", 8) != 0
            && ngx_strncmp(value[i].data, "http://", 7) != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid origin \"%V\": expected "
                               "scheme://host[:port]", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (value[i].data[value[i].len - 1] == '/') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid origin \"%V\": an origin has no path",
                               &value[i]);
            return NGX_CONF_ERROR;
        }
    }

    return ngx_http_sandbox_conf_strs(cf, &slcf->cors.origins);
}


/*
 * NGX_DECLINED when the request is no preflight (or CORS is off), else
 * the preflight's answer.
 */

ngx_int_t
ngx_http_sandbox_cors_preflight(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx)
{
    ngx_str_t                     *origin;
    ngx_table_elt_t               *method, *headers;
    ngx_http_sandbox_loc_conf_t   *slcf;
    ngx_http_sandbox_cors_conf_t  *ccf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_sandbox_module);
    ccf = &slcf->cors;

    if (ccf->origins == NULL || r->method != NGX_HTTP_OPTIONS) {
        return NGX_DECLINED;
    }

    method = ngx_http_sandbox_find_header(r, "Access-Control-Request-Method",
                 sizeof("Access-Control-Request-Method") - 1);

    if (method == NULL
        || ngx_http_sandbox_find_header(r, "Origin", sizeof("Origin") - 1)
           == NULL)
    {
        return NGX_DECLINED;
    }

    origin = ngx_http_sandbox_cors_origin(r, ccf);

    if (origin == NULL) {
        return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_FORBIDDEN,
                                     "cors_rejected",
                                     "this origin may not call the API");
    }

    if (ngx_http_sandbox_cors_allowed_method(ccf, &method->value) != NGX_OK)
    {
        return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_FORBIDDEN,
                                     "cors_rejected",
                                     "this method may not be used "
                                     "cross-origin");
    }

    headers = ngx_http_sandbox_find_header(r, "Access-Control-Request-Headers",
                  sizeof("Access-Control-Request-Headers") - 1);

    if (headers != NULL
        && ngx_http_sandbox_cors_allowed_headers(ccf, &headers->value)
           != NGX_OK)
    {
        return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_FORBIDDEN,
                                     "cors_rejected",
                                     "a requested header may not be sent "
                                     "cross-origin");
    }

    if (ngx_http_discard_request_body(r) != NGX_OK
        || ngx_http_sandbox_cors_preflight_headers(r, ccf) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


static ngx_int_t
ngx_http_sandbox_cors_preflight_headers(ngx_http_request_t *r,
    ngx_http_sandbox_cors_conf_t *ccf)
{
    u_char     *p;
    ngx_str_t   max_age;

    p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    max_age.data = p;
    max_age.len = ngx_sprintf(p, "%T", ccf->max_age) - p;

    if (ngx_http_sandbox_add_header(r, "Access-Control-Allow-Methods",
                                  &ccf->methods_joined) != NGX_OK
        || ngx_http_sandbox_add_header(r, "Access-Control-Allow-Headers",
                                     &ccf->headers_joined) != NGX_OK
        || ngx_http_sandbox_add_header(r, "Access-Control-Max-Age", &max_age)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* Access-Control-Allow-Origin: added by the header filter, as always */

    return NGX_OK;
}


/*
 * Called by the header filter for every response of a sandbox location:
 * an allowed origin learns it is allowed and what it may read.
 */

ngx_int_t
ngx_http_sandbox_cors_headers(ngx_http_request_t *r)
{
    ngx_str_t                     *origin;
    ngx_http_sandbox_loc_conf_t   *slcf;
    ngx_http_sandbox_cors_conf_t  *ccf;

    static ngx_str_t  expose = ngx_string(NGX_HTTP_SANDBOX_CORS_EXPOSE);
    static ngx_str_t  vary = ngx_string("Origin");

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_sandbox_module);
    ccf = &slcf->cors;

    if (ccf->origins == NULL) {
        return NGX_OK;
    }

    /* unless any origin may, the answer depends on Origin: tell caches */

    if (!ngx_http_sandbox_cors_any(ccf)
        && ngx_http_sandbox_add_header(r, "Vary", &vary) != NGX_OK)
    {
        return NGX_ERROR;
    }

    origin = ngx_http_sandbox_cors_origin(r, ccf);

    if (origin == NULL) {
        return NGX_OK;
    }

    if (ngx_http_sandbox_cors_allow_origin(r, ccf, origin) != NGX_OK) {
        return NGX_ERROR;
    }

    if (r->headers_out.status == NGX_HTTP_NO_CONTENT
        && r->method == NGX_HTTP_OPTIONS)
    {
        return NGX_OK;
    }

    return ngx_http_sandbox_add_header(r, "Access-Control-Expose-Headers",
                                       &expose);
}


static ngx_int_t
ngx_http_sandbox_cors_allow_origin(ngx_http_request_t *r,
    ngx_http_sandbox_cors_conf_t *ccf, ngx_str_t *origin)
{
    ngx_str_t  any;

    if (ngx_http_sandbox_cors_any(ccf)) {
        ngx_str_set(&any, "*");
        return ngx_http_sandbox_add_header(r, "Access-Control-Allow-Origin",
                                           &any);
    }

    return ngx_http_sandbox_add_header(r, "Access-Control-Allow-Origin",
                                       origin);
}


/* The request's Origin when it is allowed, else NULL. */

static ngx_str_t *
ngx_http_sandbox_cors_origin(ngx_http_request_t *r,
    ngx_http_sandbox_cors_conf_t *ccf)
{
    ngx_table_elt_t  *h;

    h = ngx_http_sandbox_find_header(r, "Origin", sizeof("Origin") - 1);

    if (h == NULL
        || !(ngx_http_sandbox_cors_any(ccf)
             || ngx_http_sandbox_cors_in(ccf->origins, h->value.data,
                                         h->value.len)))
    {
        return NULL;
    }

    return &h->value;
}


static ngx_int_t
ngx_http_sandbox_cors_allowed_method(ngx_http_sandbox_cors_conf_t *ccf,
    ngx_str_t *method)
{
    sbx_str_t   *m;
    ngx_uint_t   i;

    m = ccf->methods->elts;

    for (i = 0; i < ccf->methods->nelts; i++) {
        if (m[i].len == method->len
            && ngx_strncmp(m[i].data, method->data, method->len) == 0)
        {
            return NGX_OK;
        }
    }

    return NGX_DECLINED;
}


/* Every name of the comma-separated list must be allowed. */

static ngx_int_t
ngx_http_sandbox_cors_allowed_headers(ngx_http_sandbox_cors_conf_t *ccf,
    ngx_str_t *list)
{
    u_char  *p, *end, *name, *last;

    p = list->data;
    end = p + list->len;

    while (p < end) {

        while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        name = p;

        while (p < end && *p != ',') {
            p++;
        }

        last = p;

        while (last > name && (last[-1] == ' ' || last[-1] == '\t')) {
            last--;
        }

        if (last > name
            && !ngx_http_sandbox_cors_in(ccf->headers, name, last - name))
        {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


/* Whether the list holds the name, whatever its case. */

static ngx_uint_t
ngx_http_sandbox_cors_in(ngx_array_t *names, u_char *p, size_t len)
{
    sbx_str_t   *s;
    ngx_uint_t   i;

    s = names->elts;

    for (i = 0; i < names->nelts; i++) {
        if (s[i].len == len
            && ngx_strncasecmp((u_char *) s[i].data, p, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static ngx_uint_t
ngx_http_sandbox_cors_any(ngx_http_sandbox_cors_conf_t *ccf)
{
    sbx_str_t  *o;

    o = ccf->origins->elts;

    return o[0].len == 1 && o[0].data[0] == '*';
}
