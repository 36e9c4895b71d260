
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * multipart/form-data (ngx_sandbox_module/sbx_multipart.c): the boundary
 * of a Content-Type, and finding the "file" part of a body read through a
 * callback, across read windows.
 */


#define _GNU_SOURCE

#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "sbx_multipart.h"


typedef struct {
    const uint8_t  *p;
    size_t          len;
    size_t          max_read;     /* a short-reading source */
} source_t;


static ssize_t
source_read(void *data, uint8_t *buf, size_t len, off_t offset)
{
    source_t  *s = data;

    if ((size_t) offset >= s->len) {
        return 0;
    }

    if (len > s->len - (size_t) offset) {
        len = s->len - (size_t) offset;
    }

    if (len > s->max_read) {
        len = s->max_read;
    }

    memcpy(buf, s->p + offset, len);

    return (ssize_t) len;
}


static int
find(const char *body, size_t len, const char *field, sbx_mp_part_t *part,
    const char **err)
{
    source_t  s = { (const uint8_t *) body, len, 1 << 20 };

    return sbx_multipart_find("XyZ", 3, (off_t) len, source_read, &s, field,
                              part, err);
}


static void
test_boundary(void)
{
    const char  *b;
    size_t       n;

#define T(s)  sbx_multipart_boundary(s, sizeof(s) - 1, &b, &n)

    ok(T("multipart/form-data; boundary=abc") && n == 3
       && memcmp(b, "abc", 3) == 0, "a boundary");
    ok(T("multipart/form-data; boundary=\"a b\"; x=y") && n == 3
       && memcmp(b, "a b", 3) == 0, "a quoted boundary");
    ok(T("Multipart/Form-Data;boundary=q") && n == 1, "any case, no space");
    ok(!T("multipart/form-data"), "no boundary");
    ok(!T("multipart/form-data; boundary="), "an empty boundary");
    ok(!T("application/json; boundary=abc"), "not multipart");
    ok(!T("multipart/form-data; xboundary=abc"), "a longer parameter name");

#undef T
}


static void
test_find(void)
{
    static const char  body[] =
        "preamble\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"path\"\r\n"
        "\r\n"
        "dir/x.txt\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"file\"; "
        "filename=\"C:\\\\Users\\\\me\\\\a.bin\"\r\n"
        "Content-Type: application/octet-stream\r\n"
        "\r\n"
        "\r\n--Xy\0\xff data\r\n"
        "--XyZ--\r\n";
    sbx_mp_part_t  part;
    const char    *err;
    int            rc;

    rc = find(body, sizeof(body) - 1, "file", &part, &err);
    ok(rc == 1, "the file part is found");
    is_int(part.end - part.start, 13, "its content, byte for byte");
    ok(memcmp(body + part.start, "\r\n--Xy\0\xff data", 13) == 0,
       "including a CRLF, a near-boundary, a NUL and a 0xff");
    is_str(part.filename, "a.bin", "the file name, without a client path");

    rc = find(body, sizeof(body) - 1, "path", &part, &err);
    ok(rc == 1 && part.end - part.start == 9 && !part.has_filename,
       "another field, without a file name");

    rc = find(body, sizeof(body) - 1, "other", &part, &err);
    ok(rc == 0, "a field that is not there");

    rc = find("--XyZ\r\n\r\nno headers\r\n--XyZ--", 28, "file", &part,
              &err);
    ok(rc == 0, "a part without headers is skipped");

    rc = find("no boundary at all", 18, "file", &part, &err);
    ok(rc == -1, "no boundary: malformed");

    rc = find("--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n"
              "\r\nnever closed", 66, "file", &part, &err);
    ok(rc == -1, "an unclosed part: malformed");

    rc = find("--XyZxx", 7, "file", &part, &err);
    ok(rc == -1, "a boundary not followed by CRLF: malformed");
}


static void
test_windows(void)
{
    static const char  head[] = "--XyZ\r\nContent-Disposition: form-data; "
                                "name=\"file\"; filename=\"big\"\r\n\r\n";
    static const char  tail[] = "\r\n--XyZ--\r\n";
    size_t             n, len;
    char              *body;
    source_t           s;
    sbx_mp_part_t      part;
    const char        *err;

    /* 200,000 bytes of content: the closing boundary is three windows on */
    n = 200000;
    len = sizeof(head) - 1 + n + sizeof(tail) - 1;
    body = malloc(len);
    memcpy(body, head, sizeof(head) - 1);
    memset(body + sizeof(head) - 1, 'x', n);
    memcpy(body + sizeof(head) - 1 + n, tail, sizeof(tail) - 1);

    s.p = (const uint8_t *) body;
    s.len = len;
    s.max_read = 4096;

    ok(sbx_multipart_find("XyZ", 3, (off_t) len, source_read, &s, "file",
                          &part, &err) == 1,
       "a part over several windows, read in short reads");
    is_int(part.end - part.start, n, "whole");

    /* the boundary straddling the window edge */
    n = 65536 - (sizeof(head) - 1) - 3;
    len = sizeof(head) - 1 + n + sizeof(tail) - 1;
    memset(body + sizeof(head) - 1, 'y', n);
    memcpy(body + sizeof(head) - 1 + n, tail, sizeof(tail) - 1);
    s.len = len;

    ok(sbx_multipart_find("XyZ", 3, (off_t) len, source_read, &s, "file",
                          &part, &err) == 1
       && part.end - part.start == (off_t) n,
       "a closing boundary across two windows");

    free(body);
}


int
main(void)
{
    test_boundary();
    test_find();
    test_windows();

    return done_testing();
}
