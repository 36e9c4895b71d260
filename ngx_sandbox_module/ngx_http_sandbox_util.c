
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * String helpers between nginx strings and the C strings cJSON takes.
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
