
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include "sbx_json.h"


static size_t sbx_utf8_sequence_len(const uint8_t *p, size_t avail);


static const char  sbx_hex[] = "0123456789abcdef";

static const char  sbx_base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


int
sbx_utf8_valid(const uint8_t *p, size_t len)
{
    size_t  i, n;

    i = 0;

    while (i < len) {
        n = sbx_utf8_sequence_len(p + i, len - i);

        if (n == 0) {
            return 0;
        }

        i += n;
    }

    return 1;
}


/*
 * The length of the well-formed UTF-8 sequence at p, or 0 when it is not
 * one: overlong forms, surrogates and code points past U+10FFFF are refused.
 */

static size_t
sbx_utf8_sequence_len(const uint8_t *p, size_t avail)
{
    size_t   n, i;
    uint8_t  lo, hi;

    if (p[0] < 0x80) {
        return 1;
    }

    lo = 0x80;
    hi = 0xbf;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;

    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;
        lo = (p[0] == 0xe0) ? 0xa0 : 0x80;
        hi = (p[0] == 0xed) ? 0x9f : 0xbf;

    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        lo = (p[0] == 0xf0) ? 0x90 : 0x80;
        hi = (p[0] == 0xf4) ? 0x8f : 0xbf;

    } else {
        return 0;
    }

    if (avail < n || p[1] < lo || p[1] > hi) {
        return 0;
    }

    for (i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf) {
            return 0;
        }
    }

    return n;
}


size_t
sbx_json_escaped_len(const uint8_t *p, size_t len)
{
    size_t  i, n;

    n = 2;

    for (i = 0; i < len; i++) {
        switch (p[i]) {
        case '"':
        case '\\':
        case '\n':
        case '\r':
        case '\t':
        case '\b':
        case '\f':
            n += 2;
            break;

        default:
            n += (p[i] < 0x20 || p[i] == 0x7f) ? 6 : 1;
        }
    }

    return n;
}


uint8_t *
sbx_json_escape(uint8_t *out, const uint8_t *p, size_t len)
{
    size_t  i;

    *out++ = '"';

    for (i = 0; i < len; i++) {
        switch (p[i]) {
        case '"':
        case '\\':
            *out++ = '\\';
            *out++ = p[i];
            break;

        case '\n':
            *out++ = '\\';
            *out++ = 'n';
            break;

        case '\r':
            *out++ = '\\';
            *out++ = 'r';
            break;

        case '\t':
            *out++ = '\\';
            *out++ = 't';
            break;

        case '\b':
            *out++ = '\\';
            *out++ = 'b';
            break;

        case '\f':
            *out++ = '\\';
            *out++ = 'f';
            break;

        default:
            if (p[i] < 0x20 || p[i] == 0x7f) {
                *out++ = '\\';
                *out++ = 'u';
                *out++ = '0';
                *out++ = '0';
                *out++ = sbx_hex[p[i] >> 4];
                *out++ = sbx_hex[p[i] & 0x0f];

            } else {
                *out++ = p[i];
            }
        }
    }

    *out++ = '"';

    return out;
}


size_t
sbx_base64_len(size_t len)
{
    return (len + 2) / 3 * 4;
}


uint8_t *
sbx_base64_encode(uint8_t *out, const uint8_t *p, size_t len)
{
    uint32_t  v;

    while (len >= 3) {
        v = ((uint32_t) p[0] << 16) | ((uint32_t) p[1] << 8) | p[2];

        *out++ = sbx_base64_alphabet[(v >> 18) & 0x3f];
        *out++ = sbx_base64_alphabet[(v >> 12) & 0x3f];
        *out++ = sbx_base64_alphabet[(v >> 6) & 0x3f];
        *out++ = sbx_base64_alphabet[v & 0x3f];

        p += 3;
        len -= 3;
    }

    if (len == 0) {
        return out;
    }

    v = (uint32_t) p[0] << 16;

    if (len == 2) {
        v |= (uint32_t) p[1] << 8;
    }

    *out++ = sbx_base64_alphabet[(v >> 18) & 0x3f];
    *out++ = sbx_base64_alphabet[(v >> 12) & 0x3f];
    *out++ = (len == 2) ? sbx_base64_alphabet[(v >> 6) & 0x3f] : '=';
    *out++ = '=';

    return out;
}
