
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The workspace API: /sessions/{id}/workspace[/content].  Paths come in
 * the "path" query argument, URL-decoded and checked here (sandboxd and
 * the agent check them again); file bytes travel to and from sandboxd as
 * raw frame bodies.
 */


#include "ngx_http_sandbox_module.h"
#include "sbx_multipart.h"


static ngx_int_t ngx_http_sandbox_ws_args(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_uint_t required, ngx_uint_t allow_root,
    cJSON **args);
static ngx_int_t ngx_http_sandbox_ws_path(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, ngx_uint_t required, ngx_uint_t allow_root,
    char **path);
static ngx_int_t ngx_http_sandbox_ws_json_body(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx);
static ngx_int_t ngx_http_sandbox_ws_raw_body(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx);
static ngx_uint_t ngx_http_sandbox_ws_wants_raw(ngx_http_request_t *r);
static ngx_int_t ngx_http_sandbox_ws_file_json(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, ngx_uint_t status,
    ngx_uint_t with_session);
static ssize_t ngx_http_sandbox_ws_read_body(void *data, uint8_t *buf,
    size_t len, off_t offset);
static ngx_int_t ngx_http_sandbox_ws_slice(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, off_t start, off_t end);
static ngx_int_t ngx_http_sandbox_ws_upload_path(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, sbx_mp_part_t *part, cJSON *args);


ngx_int_t
ngx_http_sandbox_args_ws_list(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args)
{
    return ngx_http_sandbox_ws_args(r, ctx, 0, 1, args);
}


ngx_int_t
ngx_http_sandbox_args_ws_delete(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args)
{
    return ngx_http_sandbox_ws_args(r, ctx, 1, 0, args);
}


ngx_int_t
ngx_http_sandbox_args_ws_read(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args)
{
    ngx_int_t  rc;

    rc = ngx_http_sandbox_ws_args(r, ctx, 1, 0, args);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_sandbox_ws_max_size(r, *args);
}


/* A read stops at sandbox_workspace_max_file_size: "max_size" for it. */

ngx_int_t
ngx_http_sandbox_ws_max_size(ngx_http_request_t *r, cJSON *args)
{
    ngx_http_sandbox_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_sandbox_module);

    if (slcf->max_file_size
        && cJSON_AddNumberToObject(args, "max_size",
                                   (double) slcf->max_file_size)
           == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}


/*
 * The body is the file: raw bytes, or a JSON {"content", "encoding"} when
 * the request says application/json.
 */

ngx_int_t
ngx_http_sandbox_args_ws_write(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args)
{
    ngx_int_t                     rc;
    ngx_str_t                    *type;
    ngx_http_sandbox_loc_conf_t  *slcf;

    rc = ngx_http_sandbox_ws_args(r, ctx, 1, 0, args);
    if (rc != NGX_OK) {
        return rc;
    }

    type = r->headers_in.content_type ? &r->headers_in.content_type->value
                                      : NULL;

    if (type && type->len >= 16
        && ngx_strncasecmp(type->data, (u_char *) "application/json", 16)
           == 0)
    {
        rc = ngx_http_sandbox_ws_json_body(r, ctx);

    } else {
        rc = ngx_http_sandbox_ws_raw_body(r, ctx);
    }

    if (rc != NGX_OK) {
        return rc;
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_sandbox_module);

    if (slcf->max_file_size && ctx->req_body_len > slcf->max_file_size) {
        return ngx_http_sandbox_ws_too_large(r, ctx);
    }

    return NGX_OK;
}


/*
 * A multipart/form-data upload: the "file" field is the file, sent on as
 * the part of the body nginx already holds (in memory or in its temporary
 * file), never copied.  Its name is the "path" argument, or else the file
 * name the client gave.
 */

ngx_int_t
ngx_http_sandbox_args_ws_upload(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON **args)
{
    off_t                         total;
    size_t                        blen;
    ngx_int_t                     rc;
    ngx_str_t                    *type;
    const char                   *boundary, *err;
    ngx_chain_t                  *cl;
    sbx_mp_part_t                 part;
    ngx_http_sandbox_loc_conf_t  *slcf;

    type = r->headers_in.content_type ? &r->headers_in.content_type->value
                                      : NULL;

    if (type == NULL
        || !sbx_multipart_boundary((const char *) type->data, type->len,
                                   &boundary, &blen))
    {
        return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                     "invalid_request", "an upload is "
                                     "multipart/form-data with a boundary");
    }

    total = 0;

    for (cl = r->request_body ? r->request_body->bufs : NULL; cl;
         cl = cl->next)
    {
        total += ngx_buf_size(cl->buf);
    }

    rc = sbx_multipart_find(boundary, blen, total,
                            ngx_http_sandbox_ws_read_body, r, "file", &part,
                            &err);

    if (rc != 1) {
        return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                     "invalid_request", rc == 0
                                     ? "the upload has no \"file\" field"
                                     : err);
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_sandbox_module);

    if (slcf->max_file_size && part.end - part.start > slcf->max_file_size) {
        return ngx_http_sandbox_ws_too_large(r, ctx);
    }

    rc = ngx_http_sandbox_args_session_id(r, ctx, args);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_sandbox_ws_upload_path(r, ctx, &part, *args);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_sandbox_ws_slice(r, ctx, part.start, part.end);
}


static ngx_int_t
ngx_http_sandbox_ws_upload_path(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, sbx_mp_part_t *part, cJSON *args)
{
    char        *path;
    ngx_int_t    rc;

    rc = ngx_http_sandbox_ws_path(r, ctx, 0, 0, &path);
    if (rc != NGX_OK) {
        return rc;
    }

    if (path == NULL) {
        if (!part->has_filename
            || sbx_ws_path_check(part->filename, ngx_strlen(part->filename),
                                 0)
               != NULL)
        {
            return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                         "invalid_request", "give a "
                                         "\"path\": the upload has no "
                                         "usable file name");
        }

        path = part->filename;
    }

    return cJSON_AddStringToObject(args, "path", path) ? NGX_OK
                                              : NGX_HTTP_INTERNAL_SERVER_ERROR;
}


/* Reads the request body, in memory or in a file, at an offset. */

static ssize_t
ngx_http_sandbox_ws_read_body(void *data, uint8_t *buf, size_t len,
    off_t offset)
{
    off_t                size;
    ngx_buf_t           *b;
    ngx_chain_t         *cl;
    ngx_http_request_t  *r = data;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        size = ngx_buf_size(b);

        if (offset >= size) {
            offset -= size;
            continue;
        }

        if ((off_t) len > size - offset) {
            len = (size_t) (size - offset);
        }

        if (!b->in_file) {
            ngx_memcpy(buf, b->pos + offset, len);
            return (ssize_t) len;
        }

        return ngx_read_file(b->file, buf, len, b->file_pos + offset);
    }

    return 0;
}


/* The frame's body: the bytes [start, end) of the request body. */

static ngx_int_t
ngx_http_sandbox_ws_slice(ngx_http_request_t *r, ngx_http_sandbox_ctx_t *ctx,
    off_t start, off_t end)
{
    off_t         pos, size, from, to;
    ngx_buf_t    *b;
    ngx_chain_t  *in, *cl, **ll;

    ctx->req_body = NULL;
    ctx->req_body_len = end - start;
    ll = &ctx->req_body;

    for (in = r->request_body->bufs, pos = 0; in && pos < end;
         pos += size, in = in->next)
    {
        size = ngx_buf_size(in->buf);

        if (pos + size <= start) {
            continue;
        }

        from = ngx_max(start, pos) - pos;
        to = ngx_min(end, pos + size) - pos;

        b = ngx_calloc_buf(r->pool);
        cl = ngx_alloc_chain_link(r->pool);
        if (b == NULL || cl == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (in->buf->in_file) {
            b->in_file = 1;
            b->file = in->buf->file;
            b->file_pos = in->buf->file_pos + from;
            b->file_last = in->buf->file_pos + to;

        } else {
            b->memory = 1;
            b->pos = in->buf->pos + from;
            b->last = in->buf->pos + to;
        }

        cl->buf = b;
        cl->next = NULL;
        *ll = cl;
        ll = &cl->next;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_sandbox_ws_args(ngx_http_request_t *r, ngx_http_sandbox_ctx_t *ctx,
    ngx_uint_t required, ngx_uint_t allow_root, cJSON **args)
{
    char       *path;
    ngx_int_t   rc;

    rc = ngx_http_sandbox_ws_path(r, ctx, required, allow_root, &path);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_sandbox_args_session_id(r, ctx, args);
    if (rc != NGX_OK) {
        return rc;
    }

    if (path && cJSON_AddStringToObject(*args, "path", path) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}


/*
 * The "path" query argument, URL-decoded, NUL-terminated and checked: a
 * "..", an absolute path or a NUL is refused in whatever encoding it came.
 */

static ngx_int_t
ngx_http_sandbox_ws_path(ngx_http_request_t *r, ngx_http_sandbox_ctx_t *ctx,
    ngx_uint_t required, ngx_uint_t allow_root, char **path)
{
    u_char      *dst, *src;
    ngx_str_t    arg;
    const char  *why;
    u_char       msg[96];

    *path = NULL;

    if (ngx_http_arg(r, (u_char *) "path", 4, &arg) != NGX_OK) {
        if (!required) {
            return NGX_OK;
        }

        return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                     "invalid_request",
                                     "the \"path\" query argument is "
                                     "required");
    }

    *path = ngx_pnalloc(r->pool, arg.len + 1);
    if (*path == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    dst = (u_char *) *path;
    src = arg.data;
    ngx_unescape_uri(&dst, &src, arg.len, 0);

    why = sbx_ws_path_check(*path, dst - (u_char *) *path, allow_root);

    if (why != NULL) {
        *ngx_snprintf(msg, sizeof(msg) - 1, "\"path\" %s", why) = '\0';
        return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                     "invalid_request", (char *) msg);
    }

    *dst = '\0';

    return NGX_OK;
}


static ngx_int_t
ngx_http_sandbox_ws_json_body(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx)
{
    cJSON      *json, *item;
    ngx_int_t   rc;
    ngx_str_t   body;

    rc = ngx_http_sandbox_body(r, &body);
    if (rc != NGX_OK) {
        return rc;
    }

    json = cJSON_ParseWithLength((const char *) body.data, body.len);

    if (!cJSON_IsObject(json)) {
        cJSON_Delete(json);
        return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                     "invalid_json", "the body is not a "
                                     "JSON object");
    }

    cJSON_ArrayForEach(item, json) {
        if (ngx_strcmp(item->string, "content") != 0
            && ngx_strcmp(item->string, "encoding") != 0)
        {
            cJSON_Delete(json);
            return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                         "invalid_request", "only "
                                         "\"content\" and \"encoding\" "
                                         "are accepted");
        }
    }

    /* cJSON cuts a string at an escaped NUL: a text with one is refused */
    rc = ngx_http_sandbox_ws_decode(r, ctx,
                 cJSON_GetObjectItemCaseSensitive(json, "content"),
                 cJSON_GetObjectItemCaseSensitive(json, "encoding"),
                 sbx_json_has_nul((const char *) body.data, body.len));

    cJSON_Delete(json);

    return rc;
}


/* content as utf8 (a JSON string, NUL-free) or base64, into req_body. */

ngx_int_t
ngx_http_sandbox_ws_decode(ngx_http_request_t *r, ngx_http_sandbox_ctx_t *ctx,
    cJSON *content, cJSON *encoding, ngx_uint_t nul)
{
    ngx_str_t     src, dst;
    ngx_uint_t    base64;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    base64 = cJSON_IsString(encoding)
             && ngx_strcmp(encoding->valuestring, "base64") == 0;

    if (!cJSON_IsString(content)
        || (encoding && !base64
            && !(cJSON_IsString(encoding)
                 && ngx_strcmp(encoding->valuestring, "utf8") == 0)))
    {
        return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                     "invalid_request", "\"content\" must "
                                     "be a string and \"encoding\" utf8 or "
                                     "base64");
    }

    src.data = (u_char *) content->valuestring;
    src.len = ngx_strlen(content->valuestring);

    dst = src;

    if (base64) {
        dst.data = ngx_pnalloc(r->pool, ngx_base64_decoded_length(src.len)
                                        + 1);
        if (dst.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ngx_decode_base64(&dst, &src) != NGX_OK) {
            return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                         "invalid_request", "\"content\" "
                                         "is not valid base64");
        }

    } else if (nul) {
        return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_BAD_REQUEST,
                                     "invalid_request", "a NUL byte needs "
                                     "\"encoding\": \"base64\"");
    }

    b = ngx_create_temp_buf(r->pool, dst.len ? dst.len : 1);
    cl = ngx_alloc_chain_link(r->pool);

    if (b == NULL || cl == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->pos, dst.data, dst.len);
    cl->buf = b;
    cl->next = NULL;

    ctx->req_body = dst.len ? cl : NULL;
    ctx->req_body_len = dst.len;

    return NGX_OK;
}


/* The raw body, in memory or in nginx's temporary file, as it is. */

static ngx_int_t
ngx_http_sandbox_ws_raw_body(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx)
{
    ngx_chain_t  *cl;

    ctx->req_body = NULL;
    ctx->req_body_len = 0;

    if (r->request_body == NULL) {
        return NGX_OK;
    }

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        ctx->req_body_len += ngx_buf_size(cl->buf);
    }

    ctx->req_body = ctx->req_body_len ? r->request_body->bufs : NULL;

    return NGX_OK;
}


ngx_int_t
ngx_http_sandbox_ws_too_large(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx)
{
    u_char                        msg[96];
    ngx_http_sandbox_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_sandbox_module);

    *ngx_snprintf(msg, sizeof(msg) - 1, "the file is over "
                  "sandbox_workspace_max_file_size (%O bytes)",
                  slcf->max_file_size) = '\0';

    return ngx_http_sandbox_fail(r, ctx, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                 "too_large", (char *) msg);
}


/*
 * {"session_id", "path", "entries": [...], "truncated"} with each
 * entry's mtime in ISO 8601.
 */

ngx_int_t
ngx_http_sandbox_render_ws_list(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len)
{
    cJSON      *json, *entries, *e, *out, *list, *v;
    ngx_int_t   rc;

    entries = cJSON_GetObjectItemCaseSensitive(result, "entries");
    json = cJSON_CreateObject();
    list = json ? cJSON_AddArrayToObject(json, "entries") : NULL;

    if (list == NULL || !cJSON_IsArray(entries)) {
        cJSON_Delete(json);
        return NGX_ERROR;
    }

    cJSON_ArrayForEach(e, entries) {
        out = cJSON_CreateObject();
        if (out == NULL) {
            cJSON_Delete(json);
            return NGX_ERROR;
        }

        cJSON_AddItemToArray(list, out);

        for (v = e->child; v; v = v->next) {
            if (ngx_strcmp(v->string, "mtime") == 0) {
                if (ngx_http_sandbox_add_time(out, e, "mtime") != NGX_OK) {
                    cJSON_Delete(json);
                    return NGX_ERROR;
                }
                continue;
            }

            cJSON_AddItemToObject(out, v->string, cJSON_Duplicate(v, 1));
        }
    }

    v = cJSON_GetObjectItemCaseSensitive(result, "path");
    cJSON_AddItemToObject(json, "path", cJSON_Duplicate(v, 1));
    v = cJSON_GetObjectItemCaseSensitive(result, "truncated");
    cJSON_AddItemToObject(json, "truncated", cJSON_Duplicate(v, 1));

    rc = ngx_http_sandbox_prepare_json(r, ctx, NGX_HTTP_OK, json);
    cJSON_Delete(json);

    return rc;
}


/*
 * A file: {"path", "size", "encoding", "content"}, or its bytes as they
 * are when the client accepts application/octet-stream.
 */

ngx_int_t
ngx_http_sandbox_render_ws_read(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len)
{
    cJSON       *json, *v;
    ngx_int_t    rc;
    ngx_buf_t   *b;
    sbx_blob_t   content;

    if (ngx_http_sandbox_ws_wants_raw(r)) {
        b = len ? ngx_calloc_buf(r->pool) : NULL;

        if (b) {
            b->pos = body;
            b->last = body + len;
            b->memory = 1;
        }

        rc = ngx_http_sandbox_set_out(r, ctx, NGX_HTTP_OK, b);

        ngx_str_set(&r->headers_out.content_type, "application/octet-stream");
        r->headers_out.content_type_len = r->headers_out.content_type.len;

        return (len && b == NULL) ? NGX_ERROR : rc;
    }

    json = cJSON_CreateObject();
    if (json == NULL) {
        return NGX_ERROR;
    }

    v = cJSON_GetObjectItemCaseSensitive(result, "path");
    cJSON_AddItemToObject(json, "path", cJSON_Duplicate(v, 1));
    cJSON_AddNumberToObject(json, "size", (double) len);

    content.encoding_key = "encoding";
    content.key = "content";
    content.data = body;
    content.len = len;

    b = ngx_http_sandbox_splice_blobs(r, json, &content, 1);

    cJSON_Delete(json);

    if (b == NULL) {
        return NGX_ERROR;
    }

    return ngx_http_sandbox_set_out(r, ctx, NGX_HTTP_OK, b);
}


ngx_int_t
ngx_http_sandbox_render_ws_written(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len)
{
    return ngx_http_sandbox_ws_file_json(r, ctx, result, NGX_HTTP_OK, 0);
}


/* 201 {"path", "session_id", "size"}, as the seeds answer an upload. */

ngx_int_t
ngx_http_sandbox_render_ws_uploaded(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, u_char *body, size_t len)
{
    return ngx_http_sandbox_ws_file_json(r, ctx, result, NGX_HTTP_CREATED,
                                         1);
}


/* {"path", "session_id"?, "size"} of a file written. */

static ngx_int_t
ngx_http_sandbox_ws_file_json(ngx_http_request_t *r,
    ngx_http_sandbox_ctx_t *ctx, cJSON *result, ngx_uint_t status,
    ngx_uint_t with_session)
{
    char       *sid;
    cJSON      *json, *v;
    ngx_int_t   rc;

    json = cJSON_CreateObject();
    if (json == NULL) {
        return NGX_ERROR;
    }

    v = cJSON_GetObjectItemCaseSensitive(result, "path");
    cJSON_AddItemToObject(json, "path", cJSON_Duplicate(v, 1));

    if (with_session) {
        sid = ngx_http_sandbox_pstrz(r->pool, &ctx->path_id);
        if (sid == NULL) {
            cJSON_Delete(json);
            return NGX_ERROR;
        }
        cJSON_AddStringToObject(json, "session_id", sid);
    }

    v = cJSON_GetObjectItemCaseSensitive(result, "size");
    cJSON_AddItemToObject(json, "size", cJSON_Duplicate(v, 1));

    rc = ngx_http_sandbox_prepare_json(r, ctx, status, json);
    cJSON_Delete(json);

    return rc;
}


/* Whether Accept names application/octet-stream. */

static ngx_uint_t
ngx_http_sandbox_ws_wants_raw(ngx_http_request_t *r)
{
    ngx_str_t         *accept;
    static u_char      type[] = "application/octet-stream";

    if (r->headers_in.accept == NULL) {
        return 0;
    }

    accept = &r->headers_in.accept->value;

    return ngx_strlcasestrn(accept->data, accept->data + accept->len, type,
                            sizeof(type) - 2) != NULL;
}
