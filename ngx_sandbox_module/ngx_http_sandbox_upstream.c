
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The op protocol over nginx's upstream machinery, as memcached_pass does
 * it: one request frame out, one response frame in.  The response frame is
 * gathered whole, because the HTTP response is rendered from all of it,
 * then handed to the non-buffered output path; a fully read frame marks
 * the connection reusable for the keepalive module.
 */


#include "ngx_http_sandbox_module.h"


static ngx_int_t ngx_http_sandbox_frame(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *args);
static ngx_int_t ngx_http_sandbox_create_request(ngx_http_request_t *r);
static ngx_int_t ngx_http_sandbox_reinit_request(ngx_http_request_t *r);
static ngx_int_t ngx_http_sandbox_process_header(ngx_http_request_t *r);
static ngx_int_t ngx_http_sandbox_gather(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_buf_t *b);
static ngx_int_t ngx_http_sandbox_filter_init_out(void *data);
static ngx_int_t ngx_http_sandbox_filter(void *data, ssize_t bytes);
static void ngx_http_sandbox_abort_request(ngx_http_request_t *r);
static void ngx_http_sandbox_finalize_request(ngx_http_request_t *r,
    ngx_int_t rc);


/*
 * Sends the route's op with the given arguments to sandboxd.  An exec may
 * run for its whole timeout: nginx then waits that long plus
 * sandbox_read_timeout, the time sandboxd may take around the command
 * (creating the session's container, starting the command, reaping).
 */

ngx_int_t
ngx_http_sandbox_upstream_start(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *args, ngx_msec_t extra_timeout)
{
    ngx_http_upstream_t          *u;
    ngx_http_upstream_conf_t     *ucf;
    ngx_http_sandbox_loc_conf_t  *slcf;

    /*
     * Under "satisfy any", an allow rule, auth_basic or auth_request that
     * says yes lets in a request whose credentials were refused, or absent
     * where no sandbox_anonymous is set: it has no user, and a user's op
     * must not go to sandboxd without one.
     */

    if (ctx->user.len == 0 && !ctx->route->public) {
        return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_UNAUTHORIZED,
                                     "unauthorized",
                                     "credentials are required: send "
                                     "X-API-Key or Authorization: Bearer");
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_sandbox_module);

    if (ngx_http_sandbox_frame(r, ctx, args) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_upstream_create(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    u = r->upstream;

    ucf = &slcf->upstream;

    if (extra_timeout) {
        ucf = ngx_palloc(r->pool, sizeof(ngx_http_upstream_conf_t));
        if (ucf == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        *ucf = slcf->upstream;
        ucf->read_timeout += extra_timeout;
    }

    ngx_str_set(&u->schema, "sandbox://");
    u->output.tag = (ngx_buf_tag_t) &ngx_http_sandbox_module;
    u->conf = ucf;

    u->create_request = ngx_http_sandbox_create_request;
    u->reinit_request = ngx_http_sandbox_reinit_request;
    u->process_header = ngx_http_sandbox_process_header;
    u->abort_request = ngx_http_sandbox_abort_request;
    u->finalize_request = ngx_http_sandbox_finalize_request;

    u->input_filter_init = ngx_http_sandbox_filter_init_out;
    u->input_filter = ngx_http_sandbox_filter;
    u->input_filter_ctx = r;

    r->main->count++;

    ngx_http_upstream_init(r);

    return NGX_DONE;
}


/*
 * Encodes the op request frame: {"id", "op", "user", "args"}, and the body
 * the route set (ctx->req_body), which follows the header unchanged.
 */

static ngx_int_t
ngx_http_sandbox_frame(ngx_http_request_t *r, ngx_http_sandbox_ctx_t *ctx,
    cJSON *args)
{
    char       *json;
    size_t      len;
    cJSON      *hdr;
    ngx_buf_t  *b;

    hdr = cJSON_CreateObject();
    if (hdr == NULL) {
        return NGX_ERROR;
    }

    json = NULL;

    if (cJSON_AddStringToObject(hdr, "op", ctx->op) == NULL) {
        goto failed;
    }

    if (ngx_http_sandbox_request_id(r, ctx) == NULL
        || cJSON_AddStringToObject(hdr, "id", ctx->request_id) == NULL)
    {
        goto failed;
    }

    if (ctx->user.len) {
        json = ngx_http_sandbox_pstrz(r->pool, &ctx->user);

        if (json == NULL
            || cJSON_AddStringToObject(hdr, "user", json) == NULL)
        {
            goto failed;
        }
    }

    if (!cJSON_AddItemReferenceToObject(hdr, "args", args)) {
        goto failed;
    }

    json = cJSON_PrintUnformatted(hdr);

    cJSON_Delete(hdr);

    if (json == NULL) {
        return NGX_ERROR;
    }

    len = ngx_strlen(json);

    b = ngx_create_temp_buf(r->pool, SBX_FRAME_PREFIX_LEN + len);
    if (b == NULL || len > SBX_FRAME_HEADER_MAX) {
        cJSON_free(json);
        return NGX_ERROR;
    }

    sbx_frame_encode_prefix(b->last, SBX_FRAME_REQUEST, (uint32_t) len,
                            (uint32_t) ctx->req_body_len);
    b->last = ngx_cpymem(b->last + SBX_FRAME_PREFIX_LEN, json, len);

    cJSON_free(json);

    ctx->request = ngx_alloc_chain_link(r->pool);
    if (ctx->request == NULL) {
        return NGX_ERROR;
    }

    ctx->request->buf = b;
    ctx->request->next = NULL;

    return NGX_OK;

failed:

    cJSON_Delete(hdr);

    return NGX_ERROR;
}


/*
 * The request's id, $request_id, taken once: the frame, X-Request-Id and
 * $sandbox_request_id all show it, so that nginx's and sandboxd's logs
 * can be joined.  NULL when out of memory.
 */

char *
ngx_http_sandbox_request_id(ngx_http_request_t *r, ngx_http_sandbox_ctx_t *ctx)
{
    ngx_str_t                      id;
    ngx_http_variable_value_t     *v;
    ngx_http_sandbox_main_conf_t  *smcf;

    if (ctx->request_id != NULL) {
        return ctx->request_id;
    }

    smcf = ngx_http_get_module_main_conf(r, ngx_http_sandbox_module);

    v = ngx_http_get_indexed_variable(r, smcf->request_id_index);

    if (v == NULL || v->not_found || v->len == 0 || v->len > 64) {
        ctx->request_id = "-";

    } else {
        id.data = v->data;
        id.len = v->len;

        ctx->request_id = ngx_http_sandbox_pstrz(r->pool, &id);
    }

    return ctx->request_id;
}


/*
 * Links fresh copies of the body's buffers after the frame's header: a
 * retry on the next server sends them again from their start.
 */

static ngx_int_t
ngx_http_sandbox_link_body(ngx_http_request_t *r, ngx_http_sandbox_ctx_t *ctx)
{
    ngx_buf_t    *b;
    ngx_chain_t  *in, *cl, **ll;

    ll = &ctx->request->next;

    for (in = ctx->req_body; in; in = in->next) {
        b = ngx_calloc_buf(r->pool);
        cl = ngx_alloc_chain_link(r->pool);

        if (b == NULL || cl == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(b, in->buf, sizeof(ngx_buf_t));
        b->last_buf = 0;
        b->last_in_chain = 0;

        cl->buf = b;
        *ll = cl;
        ll = &cl->next;
    }

    *ll = NULL;

    return NGX_OK;
}


static ngx_int_t
ngx_http_sandbox_create_request(ngx_http_request_t *r)
{
    ngx_http_sandbox_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_sandbox_module);

    if (ngx_http_sandbox_link_body(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    r->upstream->request_bufs = ctx->request;

    return NGX_OK;
}


static ngx_int_t
ngx_http_sandbox_reinit_request(ngx_http_request_t *r)
{
    ngx_http_sandbox_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_sandbox_module);

    ctx->request->buf->pos = ctx->request->buf->start;

    if (ngx_http_sandbox_link_body(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    ctx->prefix_len = 0;
    ctx->last_byte_seen = 0;
    ctx->payload = NULL;
    ctx->payload_len = 0;
    ctx->out = NULL;

    return NGX_OK;
}


/*
 * Called each time bytes arrive.  The bytes are moved out of u->buffer, so
 * that a frame larger than the buffer never fills it, until the frame is
 * whole; then the HTTP response is rendered from it.
 */

static ngx_int_t
ngx_http_sandbox_process_header(ngx_http_request_t *r)
{
    ngx_int_t                rc;
    ngx_buf_t               *b;
    ngx_http_upstream_t     *u;
    ngx_http_sandbox_ctx_t  *ctx;

    u = r->upstream;
    b = &u->buffer;

    ctx = ngx_http_get_module_ctx(r, ngx_http_sandbox_module);

    rc = ngx_http_sandbox_gather(r, ctx, b);

    if (rc == NGX_AGAIN) {
        b->pos = b->start;
        b->last = b->start;
        return NGX_AGAIN;
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_UPSTREAM_INVALID_HEADER;
    }

    if (b->pos != b->last) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "sandboxd sent %uz bytes after its response frame",
                      (size_t) (b->last - b->pos));
        return NGX_HTTP_UPSTREAM_INVALID_HEADER;
    }

    /*
     * The frame's last byte is left in the buffer: the non-buffered path
     * then passes it to the input filter and writes ctx->out at once,
     * whether or not the connection is still readable.
     */

    b->pos--;

    rc = ngx_http_sandbox_render_frame(r, ctx);

    if (rc == NGX_HTTP_UPSTREAM_INVALID_HEADER || rc == NGX_ERROR) {
        return rc;
    }

    u->headers_in.status_n = r->headers_out.status;
    u->headers_in.content_length_n = r->headers_out.content_length_n;
    u->state->status = r->headers_out.status;

    u->keepalive = 1;

    return NGX_OK;
}


/*
 * Moves the bytes of b into the frame being gathered.  NGX_AGAIN: more is
 * needed; NGX_OK: the frame is whole (b->pos is past it); NGX_ERROR: the
 * prefix is not one sandboxd may send.
 */

static ngx_int_t
ngx_http_sandbox_gather(ngx_http_request_t *r, ngx_http_sandbox_ctx_t *ctx,
    ngx_buf_t *b)
{
    size_t                        n, want;
    sbx_frame_rc_e                rc;
    ngx_http_sandbox_loc_conf_t  *slcf;

    if (ctx->prefix_len < SBX_FRAME_PREFIX_LEN) {
        n = ngx_min((size_t) (b->last - b->pos),
                    SBX_FRAME_PREFIX_LEN - ctx->prefix_len);

        ngx_memcpy(ctx->prefix + ctx->prefix_len, b->pos, n);
        ctx->prefix_len += n;
        b->pos += n;

        if (ctx->prefix_len < SBX_FRAME_PREFIX_LEN) {
            return NGX_AGAIN;
        }

        slcf = ngx_http_get_module_loc_conf(r, ngx_http_sandbox_module);

        rc = sbx_frame_decode_prefix(ctx->prefix, SBX_FRAME_RESPONSE,
                                     SBX_FRAME_HEADER_MAX,
                                     (uint32_t) slcf->max_response_body,
                                     &ctx->frame);

        if (rc != SBX_FRAME_OK) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "sandboxd sent an invalid frame: %s",
                          sbx_frame_strerror(rc));
            return NGX_ERROR;
        }

        ctx->payload = ngx_pnalloc(r->pool, (size_t) ctx->frame.header_len
                                            + ctx->frame.body_len);
        if (ctx->payload == NULL) {
            return NGX_ERROR;
        }
    }

    want = (size_t) ctx->frame.header_len + ctx->frame.body_len;

    n = ngx_min((size_t) (b->last - b->pos), want - ctx->payload_len);

    ngx_memcpy(ctx->payload + ctx->payload_len, b->pos, n);
    ctx->payload_len += n;
    b->pos += n;

    return ctx->payload_len < want ? NGX_AGAIN : NGX_OK;
}


static ngx_int_t
ngx_http_sandbox_filter_init_out(void *data)
{
    ngx_http_request_t  *r = data;

    ngx_chain_t             *cl;
    ngx_http_sandbox_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_sandbox_module);

    /* written at once, as the non-buffered filters of nginx do */

    for (cl = ctx->out; cl; cl = cl->next) {
        cl->buf->flush = 1;
    }

    r->upstream->out_bufs = ctx->out;
    r->upstream->length = 0;

    return NGX_OK;
}


/*
 * Gets the frame's last byte, held back by process_header; the frame is
 * already rendered, and nothing may follow it.
 */

static ngx_int_t
ngx_http_sandbox_filter(void *data, ssize_t bytes)
{
    ngx_http_request_t  *r = data;

    ngx_http_sandbox_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_sandbox_module);

    if (bytes == 1 && !ctx->last_byte_seen) {
        ctx->last_byte_seen = 1;
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "sandboxd sent %z bytes after its response frame", bytes);

    r->upstream->keepalive = 0;

    return NGX_OK;
}


static void
ngx_http_sandbox_abort_request(ngx_http_request_t *r)
{
    return;
}


static void
ngx_http_sandbox_finalize_request(ngx_http_request_t *r, ngx_int_t rc)
{
    return;
}
