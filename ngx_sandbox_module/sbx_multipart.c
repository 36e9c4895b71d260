
/*
 * Copyright (C) ngx_sandbox contributors
 */


#define _GNU_SOURCE            /* memmem */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sbx_multipart.h"


#define SBX_MP_WINDOW  65536


typedef struct {
    sbx_mp_read_pt   read;
    void            *data;
    off_t            total;
    uint8_t         *buf;         /* SBX_MP_WINDOW bytes */
} sbx_mp_body_t;


/* Reads exactly len bytes at offset: 0, or -1. */
static int
sbx_mp_read(sbx_mp_body_t *body, uint8_t *buf, size_t len, off_t offset)
{
    ssize_t  n;
    size_t   got;

    for (got = 0; got < len; got += (size_t) n) {
        n = body->read(body->data, buf + got, len - got,
                       offset + (off_t) got);
        if (n <= 0) {
            return -1;
        }
    }

    return 0;
}


/*
 * The offset of pat at or after from: -1 when it is not there, -2 when
 * the body cannot be read.  Windows overlap by the pattern's length.
 */
static off_t
sbx_mp_search(sbx_mp_body_t *body, const char *pat, size_t plen, off_t from)
{
    off_t     pos;
    size_t    n;
    uint8_t  *p;

    for (pos = from; pos + (off_t) plen <= body->total;
         pos += (off_t) (n - plen + 1))
    {
        n = body->total - pos < SBX_MP_WINDOW ? (size_t) (body->total - pos)
                                              : SBX_MP_WINDOW;

        if (sbx_mp_read(body, body->buf, n, pos) != 0) {
            return -2;
        }

        p = memmem(body->buf, n, pat, plen);
        if (p != NULL) {
            return pos + (p - body->buf);
        }

        if (pos + (off_t) n >= body->total) {
            break;
        }
    }

    return -1;
}


int
sbx_multipart_boundary(const char *type, size_t type_len, const char **b,
    size_t *len)
{
    const char  *p, *end, *v;
    size_t       n;

    end = type + type_len;

    if (type_len < 19 || strncasecmp(type, "multipart/form-data", 19) != 0)
    {
        return 0;
    }

    for (p = type + 19; p < end; p++) {
        if (end - p > 9 && strncasecmp(p, "boundary=", 9) == 0
            && (p[-1] == ';' || p[-1] == ' ' || p[-1] == '\t'))
        {
            break;
        }
    }

    if (p >= end) {
        return 0;
    }

    v = p + 9;

    if (*v == '"') {
        v++;
        for (n = 0; v + n < end && v[n] != '"'; n++) { /* void */ }
        if (v + n >= end) {
            return 0;
        }

    } else {
        for (n = 0; v + n < end && v[n] != ';' && v[n] != ' '
                    && v[n] != '\t';
             n++)
        { /* void */ }
    }

    if (n == 0 || n > SBX_MP_BOUNDARY_MAX) {
        return 0;
    }

    *b = v;
    *len = n;

    return 1;
}


/*
 * One parameter of a Content-Disposition value: "name" in
 * form-data; name="file"; filename="a.txt".  Returns its length (the
 * value at *out), or -1 when absent.
 */
static int
sbx_mp_param(const char *h, size_t len, const char *name, const char **out)
{
    const char  *p, *end;
    size_t       nlen, n;

    nlen = strlen(name);
    end = h + len;

    for (p = h; p < end; p++) {
        if (*p != ';') {
            continue;
        }

        do {
            p++;
        } while (p < end && (*p == ' ' || *p == '\t'));

        if ((size_t) (end - p) <= nlen || strncasecmp(p, name, nlen) != 0
            || p[nlen] != '=')
        {
            continue;
        }

        p += nlen + 1;

        if (p < end && *p == '"') {
            p++;
            for (n = 0; p + n < end && p[n] != '"'; n++) { /* void */ }

        } else {
            for (n = 0; p + n < end && p[n] != ';'; n++) { /* void */ }
        }

        *out = p;
        return (int) n;
    }

    return -1;
}


/*
 * Reads a part's headers, [start, end), and says whether its
 * Content-Disposition names the field; fills the file name it gives.
 */
static int
sbx_mp_headers(sbx_mp_body_t *body, off_t start, off_t end,
    const char *field, sbx_mp_part_t *part)
{
    char        *h, *line, *eol, *base;
    const char  *v;
    size_t       len;
    int          n, found;

    if (end <= start) {
        return 0;
    }

    len = (size_t) (end - start);
    h = (char *) body->buf;

    if (sbx_mp_read(body, body->buf, len, start) != 0) {
        return -1;
    }

    found = 0;

    for (line = h; line < h + len; line = eol + 2) {
        eol = memmem(line, (size_t) (h + len - line), "\r\n", 2);
        if (eol == NULL) {
            eol = h + len;
        }

        if (eol - line < 20
            || strncasecmp(line, "Content-Disposition:", 20) != 0)
        {
            continue;
        }

        n = sbx_mp_param(line, (size_t) (eol - line), "name", &v);
        if (n < 0 || (size_t) n != strlen(field)
            || strncmp(v, field, (size_t) n) != 0)
        {
            continue;
        }

        found = 1;
        part->has_filename = 0;

        n = sbx_mp_param(line, (size_t) (eol - line), "filename", &v);
        if (n <= 0) {
            continue;
        }

        /* a client may send a whole path: its last component only */
        memcpy(part->filename, v,
               (size_t) n < SBX_MP_FILENAME_MAX ? (size_t) n
                                                : SBX_MP_FILENAME_MAX);
        part->filename[(size_t) n < SBX_MP_FILENAME_MAX
                       ? (size_t) n : SBX_MP_FILENAME_MAX] = '\0';

        base = strrchr(part->filename, '/');
        if (base == NULL) {
            base = strrchr(part->filename, '\\');
        }
        if (base != NULL) {
            memmove(part->filename, base + 1, strlen(base + 1) + 1);
        }

        part->has_filename = part->filename[0] != '\0';
    }

    return found;
}


static int
sbx_mp_scan(sbx_mp_body_t *body, const char *delim, size_t dlen,
    const char *field, sbx_mp_part_t *part, const char **err)
{
    uint8_t  two[2];
    off_t    pos, hend, next;
    int      rc;

    /* delim is "\r\n--boundary"; the first one may open the body */
    pos = sbx_mp_search(body, delim + 2, dlen - 2, 0);

    if (pos < 0) {
        *err = pos == -2 ? "the body cannot be read"
                         : "no multipart boundary in the body";
        return -1;
    }

    pos += (off_t) dlen - 2;

    for ( ;; ) {
        if (pos + 2 > body->total || sbx_mp_read(body, two, 2, pos) != 0) {
            *err = "the multipart body ends too early";
            return -1;
        }

        if (two[0] == '-' && two[1] == '-') {
            return 0;
        }

        if (two[0] != '\r' || two[1] != '\n') {
            *err = "a multipart boundary is not followed by CRLF";
            return -1;
        }

        pos += 2;

        /* a part without headers: its blank line follows at once */
        if (pos + 2 <= body->total && sbx_mp_read(body, two, 2, pos) == 0
            && two[0] == '\r' && two[1] == '\n')
        {
            hend = pos - 2;

        } else {
            hend = sbx_mp_search(body, "\r\n\r\n", 4, pos);
        }

        if (hend < pos - 2 || hend - pos > SBX_MP_HEADERS_MAX) {
            *err = "a multipart part has no end of headers";
            return -1;
        }

        next = sbx_mp_search(body, delim, dlen, hend + 4);
        if (next < 0) {
            *err = "a multipart part has no closing boundary";
            return -1;
        }

        rc = sbx_mp_headers(body, pos, hend, field, part);
        if (rc < 0) {
            *err = "the body cannot be read";
            return -1;
        }

        if (rc == 1) {
            part->start = hend + 4;
            part->end = next;
            return 1;
        }

        pos = next + (off_t) dlen;
    }
}


int
sbx_multipart_find(const char *boundary, size_t blen, off_t total,
    sbx_mp_read_pt read, void *data, const char *field, sbx_mp_part_t *part,
    const char **err)
{
    sbx_mp_body_t  body;
    char           delim[SBX_MP_BOUNDARY_MAX + 4];
    int            rc;

    memset(part, 0, sizeof(*part));

    if (blen == 0 || blen > SBX_MP_BOUNDARY_MAX) {
        *err = "a bad multipart boundary";
        return -1;
    }

    memcpy(delim, "\r\n--", 4);
    memcpy(delim + 4, boundary, blen);

    body.read = read;
    body.data = data;
    body.total = total;
    body.buf = malloc(SBX_MP_WINDOW);

    if (body.buf == NULL) {
        *err = "out of memory";
        return -1;
    }

    rc = sbx_mp_scan(&body, delim, blen + 4, field, part, err);

    free(body.buf);

    return rc;
}
