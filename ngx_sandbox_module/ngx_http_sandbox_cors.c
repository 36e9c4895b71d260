
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
    ngx_str_t    *s;
    ngx_array_t  *a;

    a = ngx_array_create(cf->pool, 8, sizeof(ngx_str_t));
    if (a == NULL) {
        return NULL;
    }

    for ( /* void */ ; *names; names++) {
        s = ngx_array_push(a);
        if (s == NULL) {
            return NULL;
        }

        s->data = (u_char *) *names;
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
    ngx_str_t   *s;
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

    return ngx_http_sandbox_conf_set_names(cf, &slcf->cors.origins);
}


/* sandbox_cors_methods / sandbox_cors_headers <name> ...; */

char *
ngx_http_sandbox_cors_list(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_array_t  **a;

    a = (ngx_array_t **) (p + cmd->offset);

    if (*a != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    return ngx_http_sandbox_conf_set_names(cf, a);
}


/* The directive's arguments as an array of ngx_str_t. */

char *
ngx_http_sandbox_conf_set_names(ngx_conf_t *cf, ngx_array_t **a)
{
    ngx_str_t   *value, *s;
    ngx_uint_t   i;

    *a = ngx_array_create(cf->pool, cf->args->nelts - 1, sizeof(ngx_str_t));
    if (*a == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        s = ngx_array_push(*a);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        *s = value[i];
    }

    return NGX_CONF_OK;
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

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_sandbox_module);
    ccf = &slcf->cors;

    if (ccf->origins == NULL) {
        return NGX_OK;
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
    ngx_str_t  *o, vary;

    o = ccf->origins->elts;

    if (o[0].len == 1 && o[0].data[0] == '*') {
        return ngx_http_sandbox_add_header(r, "Access-Control-Allow-Origin",
                                         &o[0]);
    }

    ngx_str_set(&vary, "Origin");

    if (ngx_http_sandbox_add_header(r, "Vary", &vary) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_sandbox_add_header(r, "Access-Control-Allow-Origin",
                                       origin);
}


/* The request's Origin when it is allowed, else NULL. */

static ngx_str_t *
ngx_http_sandbox_cors_origin(ngx_http_request_t *r,
    ngx_http_sandbox_cors_conf_t *ccf)
{
    ngx_str_t        *o, *origin;
    ngx_uint_t        i;
    ngx_table_elt_t  *h;

    h = ngx_http_sandbox_find_header(r, "Origin", sizeof("Origin") - 1);
    if (h == NULL) {
        return NULL;
    }

    origin = &h->value;
    o = ccf->origins->elts;

    for (i = 0; i < ccf->origins->nelts; i++) {
        if ((o[i].len == 1 && o[i].data[0] == '*')
            || (o[i].len == origin->len
                && ngx_strncasecmp(o[i].data, origin->data, origin->len)
                   == 0))
        {
            return origin;
        }
    }

    return NULL;
}


static ngx_int_t
ngx_http_sandbox_cors_allowed_method(ngx_http_sandbox_cors_conf_t *ccf,
    ngx_str_t *method)
{
    ngx_str_t   *m;
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


static ngx_uint_t
ngx_http_sandbox_cors_in(ngx_array_t *names, u_char *p, size_t len)
{
    ngx_str_t   *s;
    ngx_uint_t   i;

    s = names->elts;

    for (i = 0; i < names->nelts; i++) {
        if (s[i].len == len && ngx_strncasecmp(s[i].data, p, len) == 0) {
            return 1;
        }
    }

    return 0;
}
