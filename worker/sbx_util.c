
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <errno.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include <openssl/evp.h>

#include "sbx_util.h"


void
sbx_error_set(sbx_error_t *err, const char *code, const char *fmt, ...)
{
    va_list  ap;

    err->code = code;

    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}


int64_t
sbx_time_now(void)
{
    return (int64_t) time(NULL);
}


int64_t
sbx_time_mono_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


void
sbx_time_after(clockid_t clock, long ms, struct timespec *ts)
{
    clock_gettime(clock, ts);

    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;

    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}


void
sbx_sleep_ms(long ms)
{
    struct timespec  ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
        /* sleep the rest */
    }
}


int
sbx_random_hex(char *out, size_t nbytes)
{
    static const char  hex[] = "0123456789abcdef";
    unsigned char      buf[64];
    size_t             i, got;
    ssize_t            n;

    if (nbytes > sizeof(buf)) {
        return SBX_ERR;
    }

    for (got = 0; got < nbytes; got += (size_t) n) {
        n = getrandom(buf + got, nbytes - got, 0);
        if (n < 0) {
            if (errno == EINTR) {
                n = 0;
                continue;
            }
            return SBX_ERR;
        }
    }

    for (i = 0; i < nbytes; i++) {
        out[2 * i] = hex[buf[i] >> 4];
        out[2 * i + 1] = hex[buf[i] & 0xf];
    }

    out[2 * nbytes] = '\0';

    return SBX_OK;
}


int
sbx_sha256_hex(const void *data, size_t len, char out[65])
{
    static const char  hex[] = "0123456789abcdef";
    unsigned char      md[EVP_MAX_MD_SIZE];
    unsigned int       mdlen, i;

    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1
        || mdlen != 32)
    {
        return SBX_ERR;
    }

    for (i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }

    out[64] = '\0';

    return SBX_OK;
}


int
sbx_container_name(const char *instance, const char *user,
    const char *session_id, char *out)
{
    char    digest[65], *buf;
    size_t  li, lu, ls;
    int     rc;

    li = strlen(instance);
    lu = strlen(user);
    ls = strlen(session_id);

    buf = malloc(li + lu + ls + 2);
    if (buf == NULL) {
        return SBX_ERR;
    }

    memcpy(buf, instance, li);
    buf[li] = '\0';
    memcpy(buf + li + 1, user, lu);
    buf[li + 1 + lu] = '\0';
    memcpy(buf + li + lu + 2, session_id, ls);

    rc = sbx_sha256_hex(buf, li + lu + ls + 2, digest);
    free(buf);

    if (rc != SBX_OK) {
        return SBX_ERR;
    }

    memcpy(out, "sbx-", 4);
    memcpy(out + 4, digest, 24);
    out[SBX_CONTAINER_NAME_LEN] = '\0';

    return SBX_OK;
}


int
sbx_parse_uint(const char *s, uint64_t *out)
{
    uint64_t  v;

    if (*s == '\0') {
        return SBX_ERR;
    }

    for (v = 0; *s; s++) {
        if (*s < '0' || *s > '9') {
            return SBX_ERR;
        }

        if (v > (UINT64_MAX - (uint64_t) (*s - '0')) / 10) {
            return SBX_ERR;
        }

        v = v * 10 + (uint64_t) (*s - '0');
    }

    *out = v;

    return SBX_OK;
}


int
sbx_parse_size(const char *s, uint64_t *out)
{
    char      num[32];
    size_t    len;
    uint64_t  v, mult;

    len = strlen(s);
    if (len == 0 || len >= sizeof(num)) {
        return SBX_ERR;
    }

    memcpy(num, s, len + 1);
    mult = 1;

    switch (num[len - 1]) {
    case 'k':
    case 'K':
        mult = 1024;
        break;
    case 'm':
    case 'M':
        mult = 1024 * 1024;
        break;
    case 'g':
    case 'G':
        mult = 1024 * 1024 * 1024;
        break;
    default:
        break;
    }

    if (mult != 1) {
        num[--len] = '\0';
    }

    if (sbx_parse_uint(num, &v) != SBX_OK || v > UINT64_MAX / mult) {
        return SBX_ERR;
    }

    *out = v * mult;

    return SBX_OK;
}


int
sbx_valid_docker_id(const char *s)
{
    size_t  i;

    for (i = 0; s[i]; i++) {
        if (i >= SBX_CONTAINER_ID_MAX
            || !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
        {
            return 0;
        }
    }

    return i > 0;
}
