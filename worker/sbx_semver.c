/*
 * Copyright (C) ngx_sandbox contributors
 */


#include <stdlib.h>
#include <string.h>

#include "sbx_semver.h"


#define SBX_SEMVER_PARTS  3


typedef struct {
    long  part[SBX_SEMVER_PARTS];
    int   given;                    /* parts before the first wildcard */
} sbx_semver_t;


/*
 * "1.2.3", "1.2", "1", "1.x", "1.2.*", "*", "x"; a pre-release or build
 * suffix ("-rc1", "+b2") is ignored.
 */
static int
sbx_semver_parse(const char *s, sbx_semver_t *v)
{
    int    i;
    char  *end;

    memset(v, 0, sizeof(*v));

    for (i = 0; i < SBX_SEMVER_PARTS; i++) {
        if (*s == '*' || *s == 'x' || *s == 'X') {
            s += 1 + strspn(s + 1, ".*xX");
            break;
        }

        if (*s < '0' || *s > '9') {
            return -1;
        }

        v->part[i] = strtol(s, &end, 10);
        v->given = i + 1;
        s = end;

        if (*s != '.') {
            break;
        }

        s++;
    }

    return (*s == '\0' || *s == '-' || *s == '+') ? 0 : -1;
}


static int
sbx_semver_cmp(const sbx_semver_t *a, const sbx_semver_t *b, int parts)
{
    int  i;

    for (i = 0; i < parts; i++) {
        if (a->part[i] != b->part[i]) {
            return a->part[i] < b->part[i] ? -1 : 1;
        }
    }

    return 0;
}


int
sbx_semver_match(const char *range, const char *version)
{
    int           c, parts;
    char          op[4];
    size_t        n;
    sbx_semver_t  r, v;

    n = strspn(range, "^~<>=v");

    if (n >= sizeof(op)) {
        return 0;
    }

    memcpy(op, range, n);
    op[n] = '\0';

    if (sbx_semver_parse(range + n, &r) != 0
        || sbx_semver_parse(version, &v) != 0 || v.given == 0)
    {
        return 0;
    }

    c = sbx_semver_cmp(&v, &r, r.given);

    if (n == 0 || strcmp(op, "=") == 0 || strcmp(op, "v") == 0) {
        return c == 0;
    }

    if (strcmp(op, "^") == 0) {
        parts = r.given < 1 ? r.given : 1;
        return c >= 0 && sbx_semver_cmp(&v, &r, parts) == 0;
    }

    if (strcmp(op, "~") == 0) {
        parts = r.given < 2 ? r.given : 2;
        return c >= 0 && sbx_semver_cmp(&v, &r, parts) == 0;
    }

    if (strcmp(op, ">=") == 0) {
        return c >= 0;
    }

    if (strcmp(op, ">") == 0) {
        return c > 0;
    }

    if (strcmp(op, "<=") == 0) {
        return c <= 0;
    }

    if (strcmp(op, "<") == 0) {
        return c < 0;
    }

    return 0;
}
