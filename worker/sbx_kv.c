
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx_kv.h"


static int
sbx_kv_name_valid(const char *p, size_t len)
{
    size_t  i;

    if (len == 0 || len > SBX_KV_NAME_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9')
              || p[i] == '_'))
        {
            return 0;
        }
    }

    return 1;
}


void
sbx_kv_iter_init(sbx_kv_iter_t *it, const void *data, size_t len)
{
    it->p = data;
    it->end = it->p + len;
}


int
sbx_kv_next(sbx_kv_iter_t *it, sbx_kv_t *kv)
{
    const char  *nul, *eq;

    if (it->p == it->end) {
        return 0;
    }

    nul = memchr(it->p, '\0', (size_t) (it->end - it->p));
    if (nul == NULL) {
        return -1;
    }

    eq = memchr(it->p, '=', (size_t) (nul - it->p));
    if (eq == NULL || !sbx_kv_name_valid(it->p, (size_t) (eq - it->p))) {
        return -1;
    }

    kv->name = it->p;
    kv->name_len = (size_t) (eq - it->p);
    kv->value = eq + 1;
    kv->value_len = (size_t) (nul - eq - 1);

    it->p = nul + 1;

    return 1;
}


int
sbx_kv_is(const sbx_kv_t *kv, const char *name)
{
    return strlen(name) == kv->name_len
           && memcmp(kv->name, name, kv->name_len) == 0;
}


int
sbx_kv_number(const sbx_kv_t *kv, uint64_t max, uint64_t *out)
{
    uint64_t  v;
    size_t    i;
    unsigned  d;

    if (kv->value_len == 0 || kv->value_len > 20
        || (kv->value_len > 1 && kv->value[0] == '0'))
    {
        return -1;
    }

    v = 0;

    for (i = 0; i < kv->value_len; i++) {
        if (kv->value[i] < '0' || kv->value[i] > '9') {
            return -1;
        }

        d = (unsigned) (kv->value[i] - '0');

        if (d > max || v > (max - d) / 10) {
            return -1;
        }

        v = v * 10 + d;
    }

    *out = v;

    return 0;
}


void
sbx_kv_buf_init(sbx_kv_buf_t *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
}


void
sbx_kv_buf_free(sbx_kv_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}


void
sbx_kv_add(sbx_kv_buf_t *b, const char *name, const char *value,
    size_t value_len)
{
    size_t   nlen, need, cap;
    char    *p;

    nlen = strlen(name);

    if (b->failed || !sbx_kv_name_valid(name, nlen)
        || memchr(value, '\0', value_len) != NULL
        || value_len > b->max || nlen + value_len + 2 > b->max - b->len)
    {
        b->failed = 1;
        return;
    }

    need = b->len + nlen + value_len + 2;

    if (need > b->cap) {
        cap = b->cap ? b->cap : 256;
        while (cap < need) {
            cap *= 2;
        }

        p = realloc(b->data, cap);
        if (p == NULL) {
            b->failed = 1;
            return;
        }

        b->data = p;
        b->cap = cap;
    }

    p = b->data + b->len;
    memcpy(p, name, nlen);
    p[nlen] = '=';
    memcpy(p + nlen + 1, value, value_len);
    p[nlen + 1 + value_len] = '\0';
    b->len = need;
}


void
sbx_kv_add_str(sbx_kv_buf_t *b, const char *name, const char *value)
{
    sbx_kv_add(b, name, value, strlen(value));
}


void
sbx_kv_add_number(sbx_kv_buf_t *b, const char *name, uint64_t v)
{
    char  num[24];
    int   n;

    n = snprintf(num, sizeof(num), "%llu", (unsigned long long) v);
    sbx_kv_add(b, name, num, (size_t) n);
}
