
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * String helpers between nginx strings and the C strings cJSON takes, and
 * request and response header helpers.
 */


#include "ngx_http_sandbox_module.h"


/* A NUL-terminated pool copy of s, for cJSON. */

char *
ngx_http_sandbox_pstrz(ngx_pool_t *pool, ngx_str_t *s)
{
    char  *p;

    p = ngx_pnalloc(pool, s->len + 1);
    if (p == NULL) {
        return NULL;
    }

    *ngx_cpymem(p, s->data, s->len) = '\0';

    return p;
}


/* A pool copy of a C string that stays NUL-terminated. */

ngx_int_t
ngx_http_sandbox_cstr(ngx_pool_t *pool, ngx_str_t *to, const char *s)
{
    to->len = ngx_strlen(s);

    to->data = ngx_pnalloc(pool, to->len + 1);
    if (to->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(to->data, s, to->len + 1);

    return NGX_OK;
}


/*
 * Reads a whole file named in the configuration (relative to the prefix)
 * into the configuration pool: at most max bytes, or nginx -t fails saying
 * so.  The full path is stored in *path for the caller's messages.
 */

char *
ngx_http_sandbox_read_conf_file(ngx_conf_t *cf, ngx_str_t *name,
    size_t max, ngx_str_t *path, ngx_str_t *content)
{
    char             *rv;
    ssize_t           n;
    ngx_file_t        file;
    ngx_file_info_t   fi;

    *path = *name;

    if (ngx_conf_full_name(cf->cycle, path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));

    file.name = *path;
    file.log = cf->log;
    file.fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", path);
        return NGX_CONF_ERROR;
    }

    rv = NGX_CONF_ERROR;

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > (off_t) max)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "cannot use \"%V\": not a file of at most %uz "
                           "bytes", path, max);
        goto done;
    }

    content->data = ngx_pnalloc(cf->pool, (size_t) ngx_file_size(&fi) + 1);
    if (content->data == NULL) {
        goto done;
    }

    n = ngx_read_file(&file, content->data, (size_t) ngx_file_size(&fi), 0);
    if (n == NGX_ERROR) {
        goto done;
    }

    content->len = n;
    rv = NGX_CONF_OK;

done:

    ngx_close_file(file.fd);

    return rv;
}


/* The first request header of that name (case-insensitive), or NULL. */

ngx_table_elt_t *
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


ngx_int_t
ngx_http_sandbox_add_header(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value = *value;

    return NGX_OK;
}


/*
 * A list of strings (sbx_str_t) at cmd->offset of the location's conf,
 * set once.
 */

char *
ngx_http_sandbox_conf_set_strs(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    char  *p = conf;

    ngx_array_t  **a;

    a = (ngx_array_t **) (p + cmd->offset);

    if (*a != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    return ngx_http_sandbox_conf_strs(cf, a);
}


/* The directive's arguments, none empty, as an array of sbx_str_t. */

char *
ngx_http_sandbox_conf_strs(ngx_conf_t *cf, ngx_array_t **a)
{
    ngx_str_t   *value;
    sbx_str_t   *s;
    ngx_uint_t   i;

    *a = ngx_array_create(cf->pool, cf->args->nelts - 1, sizeof(sbx_str_t));
    if (*a == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len == 0) {
            return "takes no empty strings";
        }

        s = ngx_array_push(*a);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        s->data = (const char *) value[i].data;
        s->len = value[i].len;
    }

    return NGX_CONF_OK;
}
