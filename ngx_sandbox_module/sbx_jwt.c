
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The JWT policy (see sbx_jwt.h).  Every check errs on the side of
 * refusing: a claim of the wrong type is as bad as a wrong claim.
 */


#include <math.h>
#include <string.h>

#include "sbx_jwt.h"


static const char  *sbx_jwt_alg_names[SBX_JWT_NALGS] = {
    "HS256", "HS384", "HS512", "RS256", "ES256"
};

/* Header parameters that bring their own key, or point to one. */
static const char  *sbx_jwt_key_params[] = {
    "jku", "jwk", "x5u", "x5c", NULL
};


static int sbx_jwt_base64url(const char *p, size_t len);
static sbx_jwt_error_t sbx_jwt_time(const cJSON *claims, const char *name,
    double *value, int *present);
static int sbx_jwt_string_matches(const cJSON *item, const sbx_str_t *values,
    size_t n);
static int sbx_jwt_word_in(const char *list, const sbx_str_t *word);


const char *
sbx_jwt_alg_name(sbx_jwt_alg_t alg)
{
    return alg < SBX_JWT_NALGS ? sbx_jwt_alg_names[alg] : "?";
}


int
sbx_jwt_alg_from_name(const char *name, size_t len)
{
    int  i;

    for (i = 0; i < SBX_JWT_NALGS; i++) {
        if (strlen(sbx_jwt_alg_names[i]) == len
            && memcmp(sbx_jwt_alg_names[i], name, len) == 0)
        {
            return i;
        }
    }

    return -1;
}


sbx_jwt_key_type_t
sbx_jwt_alg_key_type(sbx_jwt_alg_t alg)
{
    switch (alg) {

    case SBX_JWT_RS256:
        return SBX_JWT_KEY_RSA;

    case SBX_JWT_ES256:
        return SBX_JWT_KEY_EC_P256;

    default:
        return SBX_JWT_KEY_HMAC;
    }
}


sbx_jwt_error_t
sbx_jwt_split(const char *token, size_t len, sbx_jwt_parts_t *parts)
{
    const char  *dot1, *dot2, *end;

    if (len > SBX_JWT_TOKEN_MAX) {
        return SBX_JWT_TOO_LARGE;
    }

    end = token + len;

    dot1 = memchr(token, '.', len);
    if (dot1 == NULL) {
        return SBX_JWT_MALFORMED;
    }

    dot2 = memchr(dot1 + 1, '.', end - dot1 - 1);
    if (dot2 == NULL || memchr(dot2 + 1, '.', end - dot2 - 1) != NULL) {
        return SBX_JWT_MALFORMED;
    }

    parts->header.data = token;
    parts->header.len = dot1 - token;
    parts->payload.data = dot1 + 1;
    parts->payload.len = dot2 - dot1 - 1;
    parts->signature.data = dot2 + 1;
    parts->signature.len = end - dot2 - 1;

    if (parts->header.len == 0 || parts->payload.len == 0
        || !sbx_jwt_base64url(parts->header.data, parts->header.len)
        || !sbx_jwt_base64url(parts->payload.data, parts->payload.len)
        || !sbx_jwt_base64url(parts->signature.data, parts->signature.len))
    {
        return SBX_JWT_MALFORMED;
    }

    return SBX_JWT_OK;
}


static int
sbx_jwt_base64url(const char *p, size_t len)
{
    size_t  i;
    char    c;

    for (i = 0; i < len; i++) {
        c = p[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '-' || c == '_'))
        {
            return 0;
        }
    }

    return 1;
}


sbx_jwt_error_t
sbx_jwt_check_header(const cJSON *header, unsigned accepted,
    sbx_jwt_alg_t *alg, const char **kid)
{
    int           a;
    const char  **param;
    const cJSON  *item;

    if (!cJSON_IsObject(header)) {
        return SBX_JWT_MALFORMED;
    }

    item = cJSON_GetObjectItemCaseSensitive(header, "alg");
    if (!cJSON_IsString(item)) {
        return SBX_JWT_ALG_REFUSED;
    }

    /* case-sensitive, as RFC 7515 says: "none", "None", "hs256" all fail */

    a = sbx_jwt_alg_from_name(item->valuestring, strlen(item->valuestring));
    if (a < 0 || !(accepted & SBX_JWT_ALG_BIT(a))) {
        return SBX_JWT_ALG_REFUSED;
    }

    for (param = sbx_jwt_key_params; *param; param++) {
        if (cJSON_GetObjectItemCaseSensitive(header, *param) != NULL) {
            return SBX_JWT_EMBEDDED_KEY;
        }
    }

    if (cJSON_GetObjectItemCaseSensitive(header, "crit") != NULL) {
        return SBX_JWT_CRIT;
    }

    item = cJSON_GetObjectItemCaseSensitive(header, "kid");

    if (item == NULL) {
        *kid = NULL;

    } else if (cJSON_IsString(item)
               && strlen(item->valuestring) <= SBX_JWT_KID_MAX)
    {
        *kid = item->valuestring;

    } else {
        return SBX_JWT_UNKNOWN_KID;
    }

    *alg = (sbx_jwt_alg_t) a;

    return SBX_JWT_OK;
}


sbx_jwt_error_t
sbx_jwt_check_times(const cJSON *claims, const sbx_jwt_clock_t *clock)
{
    int              has_exp, has_nbf, has_iat;
    double           exp, nbf, iat, now, leeway;
    sbx_jwt_error_t  rc;

    if ((rc = sbx_jwt_time(claims, "exp", &exp, &has_exp)) != SBX_JWT_OK
        || (rc = sbx_jwt_time(claims, "nbf", &nbf, &has_nbf)) != SBX_JWT_OK
        || (rc = sbx_jwt_time(claims, "iat", &iat, &has_iat)) != SBX_JWT_OK)
    {
        return rc;
    }

    now = (double) clock->now;
    leeway = (double) clock->leeway;

    if (!has_exp && clock->require_exp) {
        return SBX_JWT_NO_EXP;
    }

    /* RFC 7519: the token must not be accepted on or after "exp" */

    if (has_exp && now >= exp + leeway) {
        return SBX_JWT_EXPIRED;
    }

    if ((has_nbf && now < nbf - leeway) || (has_iat && now < iat - leeway)) {
        return SBX_JWT_NOT_YET_VALID;
    }

    return SBX_JWT_OK;
}


/* A NumericDate: a finite number, if the claim is there at all. */

static sbx_jwt_error_t
sbx_jwt_time(const cJSON *claims, const char *name, double *value,
    int *present)
{
    const cJSON  *item;

    item = cJSON_GetObjectItemCaseSensitive(claims, name);

    *present = (item != NULL);
    *value = 0;

    if (item == NULL) {
        return SBX_JWT_OK;
    }

    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble)) {
        return SBX_JWT_BAD_TIME;
    }

    *value = item->valuedouble;

    return SBX_JWT_OK;
}


int
sbx_jwt_claim_matches(const cJSON *claims, const char *name,
    const sbx_str_t *values, size_t n)
{
    const cJSON  *item, *e;

    item = cJSON_GetObjectItemCaseSensitive(claims, name);

    if (cJSON_IsString(item)) {
        return sbx_jwt_string_matches(item, values, n);
    }

    if (!cJSON_IsArray(item)) {
        return 0;
    }

    cJSON_ArrayForEach(e, item) {
        if (sbx_jwt_string_matches(e, values, n)) {
            return 1;
        }
    }

    return 0;
}


static int
sbx_jwt_string_matches(const cJSON *item, const sbx_str_t *values, size_t n)
{
    size_t  i, len;

    if (!cJSON_IsString(item)) {
        return 0;
    }

    len = strlen(item->valuestring);

    for (i = 0; i < n; i++) {
        if (values[i].len == len
            && memcmp(values[i].data, item->valuestring, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


int
sbx_jwt_has_scope(const cJSON *claims, const sbx_str_t *scope)
{
    const cJSON  *item;

    item = cJSON_GetObjectItemCaseSensitive(claims, "scope");

    if (cJSON_IsString(item) && sbx_jwt_word_in(item->valuestring, scope)) {
        return 1;
    }

    item = cJSON_GetObjectItemCaseSensitive(claims, "scp");

    if (cJSON_IsString(item)) {
        return sbx_jwt_word_in(item->valuestring, scope);
    }

    return sbx_jwt_claim_matches(claims, "scp", scope, 1);
}


/* Whether the space-separated list holds the word. */

static int
sbx_jwt_word_in(const char *list, const sbx_str_t *word)
{
    size_t       len;
    const char  *p;

    for (p = list; *p; p += len) {
        while (*p == ' ') {
            p++;
        }

        len = strcspn(p, " ");

        if (len && len == word->len && memcmp(p, word->data, len) == 0) {
            return 1;
        }
    }

    return 0;
}


const char *
sbx_jwt_user(const cJSON *claims, const char *claim)
{
    const cJSON  *item;

    item = cJSON_GetObjectItemCaseSensitive(claims, claim);

    if (!cJSON_IsString(item)
        || !sbx_user_id_valid(item->valuestring, strlen(item->valuestring)))
    {
        return NULL;
    }

    return item->valuestring;
}
