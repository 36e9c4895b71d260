
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <stdlib.h>
#include <string.h>

#include "sbx_demux.h"
#include "sbx_util.h"


void
sbx_demux_init(sbx_demux_t *d, size_t limit)
{
    memset(d, 0, sizeof(*d));
    d->limit = limit;
}


void
sbx_demux_free(sbx_demux_t *d)
{
    free(d->out[0].data);
    free(d->out[1].data);
    memset(d->out, 0, sizeof(d->out));
}


/* Appends what fits under the limit, growing the buffer geometrically. */
static int
sbx_capture_append(sbx_capture_t *c, size_t limit, const uint8_t *p,
    size_t n)
{
    size_t   take, want;
    char    *data;

    take = limit - c->len;
    if (n > take) {
        c->truncated = 1;
    } else {
        take = n;
    }

    if (take == 0) {
        return SBX_OK;
    }

    if (c->len + take > c->cap) {
        want = c->cap ? c->cap * 2 : 4096;
        if (want < c->len + take) {
            want = c->len + take;
        }
        if (want > limit) {
            want = limit;
        }

        data = realloc(c->data, want);
        if (data == NULL) {
            return SBX_ERR;
        }

        c->data = data;
        c->cap = want;
    }

    memcpy(c->data + c->len, p, take);
    c->len += take;

    return SBX_OK;
}


int
sbx_demux_feed(sbx_demux_t *d, const uint8_t *p, size_t n)
{
    size_t  take;

    while (n > 0) {
        if (d->remaining == 0) {
            take = 8 - d->hdr_len;
            if (take > n) {
                take = n;
            }

            memcpy(d->hdr + d->hdr_len, p, take);
            d->hdr_len += take;
            p += take;
            n -= take;

            if (d->hdr_len < 8) {
                return SBX_OK;
            }

            d->hdr_len = 0;
            d->stream = d->hdr[0];
            d->remaining = ((uint32_t) d->hdr[4] << 24)
                           | ((uint32_t) d->hdr[5] << 16)
                           | ((uint32_t) d->hdr[6] << 8)
                           | (uint32_t) d->hdr[7];
            continue;
        }

        take = d->remaining < n ? d->remaining : n;

        /* stdin echo (0) and Docker's systemerr (3) are dropped */
        if ((d->stream == 1 || d->stream == 2)
            && sbx_capture_append(&d->out[d->stream - 1], d->limit, p, take)
               != SBX_OK)
        {
            return SBX_ERR;
        }

        d->remaining -= (uint32_t) take;
        p += take;
        n -= take;
    }

    return SBX_OK;
}
