
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The JWT policy: what a token's header and claims must say before its
 * user is believed.  Plain C on cJSON, unit tested without nginx; the
 * signature itself is checked by libjwt, with a key this policy chose.
 */


#ifndef SBX_JWT_H
#define SBX_JWT_H


#include <stddef.h>
#include <time.h>
#include <cjson/cJSON.h>

#include "sbx_validate.h"


#define SBX_JWT_TOKEN_MAX   4096
#define SBX_JWT_KID_MAX     256


/* The algorithms a configuration may accept; "none" is never one. */
typedef enum {
    SBX_JWT_HS256 = 0,
    SBX_JWT_HS384,
    SBX_JWT_HS512,
    SBX_JWT_RS256,
    SBX_JWT_ES256,
    SBX_JWT_NALGS
} sbx_jwt_alg_t;

#define SBX_JWT_ALG_BIT(a)  (1u << (a))

/* What kind of key verifies an algorithm. */
typedef enum {
    SBX_JWT_KEY_HMAC = 0,
    SBX_JWT_KEY_RSA,
    SBX_JWT_KEY_EC_P256
} sbx_jwt_key_type_t;


/* Why a token was refused; SBX_JWT_OK when it was not. */
typedef enum {
    SBX_JWT_OK = 0,
    SBX_JWT_MALFORMED,          /* not three base64url parts of JSON */
    SBX_JWT_TOO_LARGE,
    SBX_JWT_ALG_REFUSED,        /* none, unknown, or not configured */
    SBX_JWT_EMBEDDED_KEY,       /* jku, jwk, x5u, x5c */
    SBX_JWT_CRIT,               /* extensions we do not understand */
    SBX_JWT_NO_SIGNATURE,
    SBX_JWT_UNKNOWN_KID,
    SBX_JWT_BAD_SIGNATURE,
    SBX_JWT_NO_EXP,
    SBX_JWT_EXPIRED,
    SBX_JWT_NOT_YET_VALID,      /* nbf, or an iat in the future */
    SBX_JWT_BAD_TIME,           /* exp, nbf or iat not a number */
    SBX_JWT_BAD_ISSUER,
    SBX_JWT_BAD_AUDIENCE,
    SBX_JWT_NO_USER,
    SBX_JWT_NO_SCOPE
} sbx_jwt_error_t;


/* The parts of "header.payload.signature". */
typedef struct {
    sbx_str_t   header;
    sbx_str_t   payload;
    sbx_str_t   signature;
} sbx_jwt_parts_t;


typedef struct {
    time_t       now;
    time_t       leeway;        /* seconds of clock skew forgiven */
    int          require_exp;
} sbx_jwt_clock_t;


/* The name ("HS256", ...) of an algorithm, and back; -1 when unknown. */
const char *sbx_jwt_alg_name(sbx_jwt_alg_t alg);
int sbx_jwt_alg_from_name(const char *name, size_t len);
sbx_jwt_key_type_t sbx_jwt_alg_key_type(sbx_jwt_alg_t alg);

/* Splits a token into its three parts, each of base64url characters. */
sbx_jwt_error_t sbx_jwt_split(const char *token, size_t len,
    sbx_jwt_parts_t *parts);

/*
 * Checks a decoded header: its "alg" is one of the accepted (a bit set of
 * SBX_JWT_ALG_BIT), it names no key of its own and no critical extension.
 * Stores the algorithm and the "kid" (NULL when absent).
 */
sbx_jwt_error_t sbx_jwt_check_header(const cJSON *header, unsigned accepted,
    sbx_jwt_alg_t *alg, const char **kid);

/* exp (required unless told otherwise), nbf and iat, within the leeway. */
sbx_jwt_error_t sbx_jwt_check_times(const cJSON *claims,
    const sbx_jwt_clock_t *clock);

/*
 * Non-zero when the claim (a string, or an array of strings as "aud" may
 * be) holds one of the n values.
 */
int sbx_jwt_claim_matches(const cJSON *claims, const char *name,
    const sbx_str_t *values, size_t n);

/*
 * Non-zero when the token grants the scope: "scope" as a space-separated
 * string (RFC 8693), or "scp" as an array or a string.
 */
int sbx_jwt_has_scope(const cJSON *claims, const sbx_str_t *scope);

/* The user the claim names, checked as a user id; NULL when it names none. */
const char *sbx_jwt_user(const cJSON *claims, const char *claim);


#endif /* SBX_JWT_H */
