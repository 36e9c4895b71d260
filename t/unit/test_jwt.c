
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The JWT policy: token shape, header rules, time claims, audience,
 * scope and the user claim.
 */


#include "tap.h"
#include "sbx_jwt.h"


#define ALL_HS  (SBX_JWT_ALG_BIT(SBX_JWT_HS256)                             \
                 | SBX_JWT_ALG_BIT(SBX_JWT_HS384)                           \
                 | SBX_JWT_ALG_BIT(SBX_JWT_HS512))


static sbx_jwt_error_t
split(const char *token)
{
    sbx_jwt_parts_t  parts;

    return sbx_jwt_split(token, strlen(token), &parts);
}


static sbx_jwt_error_t
header(const char *json, unsigned accepted)
{
    cJSON            *h;
    const char       *kid;
    sbx_jwt_alg_t     alg;
    sbx_jwt_error_t   rc;

    h = cJSON_Parse(json);
    rc = sbx_jwt_check_header(h, accepted, &alg, &kid);
    cJSON_Delete(h);

    return rc;
}


static sbx_jwt_error_t
times(const char *json, time_t now, time_t leeway, int require_exp)
{
    cJSON            *c;
    sbx_jwt_error_t   rc;
    sbx_jwt_clock_t   clock = { now, leeway, require_exp };

    c = cJSON_Parse(json);
    rc = sbx_jwt_check_times(c, &clock);
    cJSON_Delete(c);

    return rc;
}


static int
scoped(const char *json, const char *scope)
{
    int        rc;
    cJSON     *c;
    sbx_str_t  s = { strlen(scope), scope };

    c = cJSON_Parse(json);
    rc = sbx_jwt_has_scope(c, &s);
    cJSON_Delete(c);

    return rc;
}


static int
audience(const char *json)
{
    int              rc;
    cJSON           *c;
    const sbx_str_t  aud[] = { { 3, "api" }, { 7, "sandbox" } };

    c = cJSON_Parse(json);
    rc = sbx_jwt_claim_matches(c, "aud", aud, 2);
    cJSON_Delete(c);

    return rc;
}


static void
test_split(void)
{
    sbx_jwt_parts_t  p;

    is_int(sbx_jwt_split("aGVhZA.cGF5.c2ln", 16, &p), SBX_JWT_OK,
           "three parts split");
    is_int(p.header.len, 6, "header part");
    is_int(p.payload.len, 4, "payload part");
    is_int(p.signature.len, 4, "signature part");

    is_int(split("a.b."), SBX_JWT_OK,
           "an empty signature splits (and is refused later)");
    is_int(split("a.b"), SBX_JWT_MALFORMED, "two parts are malformed");
    is_int(split("a.b.c.d"), SBX_JWT_MALFORMED, "four parts are malformed");
    is_int(split(".b.c"), SBX_JWT_MALFORMED, "an empty header is malformed");
    is_int(split("a..c"), SBX_JWT_MALFORMED, "an empty payload is malformed");
    is_int(split("a=.b.c"), SBX_JWT_MALFORMED, "padding is not base64url");
    is_int(split("a+.b.c"), SBX_JWT_MALFORMED, "'+' is not base64url");
    is_int(split("a b.b.c"), SBX_JWT_MALFORMED, "a space is not base64url");

    {
        static char  big[SBX_JWT_TOKEN_MAX + 2];

        memset(big, 'a', sizeof(big) - 1);
        big[10] = '.';
        big[20] = '.';
        is_int(split(big), SBX_JWT_TOO_LARGE, "an oversized token is refused");
    }
}


static void
test_header(void)
{
    cJSON          *h;
    const char     *kid;
    sbx_jwt_alg_t   alg;

    h = cJSON_Parse("{\"alg\":\"HS384\",\"kid\":\"k1\",\"typ\":\"JWT\"}");
    is_int(sbx_jwt_check_header(h, ALL_HS, &alg, &kid), SBX_JWT_OK,
           "an accepted header passes");
    is_int(alg, SBX_JWT_HS384, "its algorithm is read");
    is_str(kid, "k1", "its kid is read");
    cJSON_Delete(h);

    is_int(header("{\"alg\":\"none\"}", ALL_HS), SBX_JWT_ALG_REFUSED,
           "alg none is refused");
    is_int(header("{\"alg\":\"None\"}", ALL_HS), SBX_JWT_ALG_REFUSED,
           "alg None is refused");
    is_int(header("{\"alg\":\"NONE\"}", ALL_HS), SBX_JWT_ALG_REFUSED,
           "alg NONE is refused");
    is_int(header("{\"alg\":\"nOnE\"}", ALL_HS), SBX_JWT_ALG_REFUSED,
           "alg nOnE is refused");
    is_int(header("{\"alg\":\"\"}", ALL_HS), SBX_JWT_ALG_REFUSED,
           "an empty alg is refused");
    is_int(header("{\"typ\":\"JWT\"}", ALL_HS), SBX_JWT_ALG_REFUSED,
           "a missing alg is refused");
    is_int(header("{\"alg\":256}", ALL_HS), SBX_JWT_ALG_REFUSED,
           "a numeric alg is refused");
    is_int(header("{\"alg\":\"hs256\"}", ALL_HS), SBX_JWT_ALG_REFUSED,
           "algorithm names are case-sensitive");
    is_int(header("{\"alg\":\"RS256\"}", ALL_HS), SBX_JWT_ALG_REFUSED,
           "an algorithm not configured is refused");
    is_int(header("{\"alg\":\"HS256\"}",
                  SBX_JWT_ALG_BIT(SBX_JWT_RS256)), SBX_JWT_ALG_REFUSED,
           "HS256 is refused where only RS256 is accepted");
    is_int(header("{\"alg\":\"PS256\"}", ~0u), SBX_JWT_ALG_REFUSED,
           "an algorithm we do not know is refused");

    is_int(header("{\"alg\":\"HS256\",\"jku\":\"https://x/k\"}", ALL_HS),
           SBX_JWT_EMBEDDED_KEY, "jku is refused");
    is_int(header("{\"alg\":\"HS256\",\"jwk\":{\"kty\":\"oct\"}}", ALL_HS),
           SBX_JWT_EMBEDDED_KEY, "jwk is refused");
    is_int(header("{\"alg\":\"HS256\",\"x5u\":\"https://x/c\"}", ALL_HS),
           SBX_JWT_EMBEDDED_KEY, "x5u is refused");
    is_int(header("{\"alg\":\"HS256\",\"x5c\":[\"MII\"]}", ALL_HS),
           SBX_JWT_EMBEDDED_KEY, "x5c is refused");
    is_int(header("{\"alg\":\"HS256\",\"crit\":[\"b64\"]}", ALL_HS),
           SBX_JWT_CRIT, "crit is refused");
    is_int(header("{\"alg\":\"HS256\",\"kid\":7}", ALL_HS),
           SBX_JWT_UNKNOWN_KID, "a non-string kid is refused");
    is_int(header("[\"HS256\"]", ALL_HS), SBX_JWT_MALFORMED,
           "a header that is not an object is malformed");
}


static void
test_times(void)
{
    time_t  now = 1700000000;

    is_int(times("{\"exp\":1700000060}", now, 0, 1), SBX_JWT_OK,
           "a live token passes");
    is_int(times("{\"exp\":1700000000}", now, 0, 1), SBX_JWT_EXPIRED,
           "a token is expired at its exp");
    is_int(times("{\"exp\":1699999990}", now, 30, 1), SBX_JWT_OK,
           "the leeway forgives an exp 10 s ago");
    is_int(times("{\"exp\":1699999960}", now, 30, 1), SBX_JWT_EXPIRED,
           "but not one 40 s ago");
    is_int(times("{\"exp\":1700000060.5}", now, 0, 1), SBX_JWT_OK,
           "a fractional NumericDate is a date");
    is_int(times("{}", now, 0, 1), SBX_JWT_NO_EXP,
           "exp is required by default");
    is_int(times("{}", now, 0, 0), SBX_JWT_OK,
           "and not when the operator says so");
    is_int(times("{\"exp\":\"1700000060\"}", now, 0, 1), SBX_JWT_BAD_TIME,
           "a string exp is refused");
    is_int(times("{\"exp\":null}", now, 0, 1), SBX_JWT_BAD_TIME,
           "a null exp is refused");
    is_int(times("{\"exp\":1700000060,\"nbf\":1700000100}", now, 30, 1),
           SBX_JWT_NOT_YET_VALID, "a future nbf is refused");
    is_int(times("{\"exp\":1700000060,\"nbf\":1700000020}", now, 30, 1),
           SBX_JWT_OK, "an nbf within the leeway passes");
    is_int(times("{\"exp\":1700000060,\"iat\":1700000100}", now, 30, 1),
           SBX_JWT_NOT_YET_VALID, "an iat in the future is refused");
    is_int(times("{\"exp\":1700000060,\"iat\":1690000000}", now, 30, 1),
           SBX_JWT_OK, "an iat in the past passes");
    is_int(times("{\"exp\":1700000060,\"nbf\":true}", now, 30, 1),
           SBX_JWT_BAD_TIME, "a boolean nbf is refused");
}


static void
test_claims(void)
{
    cJSON  *c;

    ok(audience("{\"aud\":\"api\"}"), "a string aud matches");
    ok(audience("{\"aud\":[\"other\",\"sandbox\"]}"),
       "an aud array matches when one member does");
    ok(!audience("{\"aud\":[\"other\"]}"), "an aud array without ours fails");
    ok(!audience("{\"aud\":\"apis\"}"), "aud matches exactly");
    ok(!audience("{}"), "a missing aud fails");
    ok(!audience("{\"aud\":[1,2]}"), "non-string members fail");

    ok(scoped("{\"scope\":\"read sandbox:exec write\"}", "sandbox:exec"),
       "a scope in a space-separated list");
    ok(!scoped("{\"scope\":\"sandbox:execute\"}", "sandbox:exec"),
       "scopes match whole words");
    ok(scoped("{\"scp\":[\"a\",\"sandbox:exec\"]}", "sandbox:exec"),
       "a scope in an scp array");
    ok(scoped("{\"scp\":\"sandbox:exec\"}", "sandbox:exec"),
       "a scope in an scp string");
    ok(!scoped("{}", "sandbox:exec"), "no scope claim grants nothing");

    c = cJSON_Parse("{\"sub\":\"alice\",\"uid\":42,\"email\":\"\"}");
    is_str(sbx_jwt_user(c, "sub"), "alice", "sub names the user");
    ok(sbx_jwt_user(c, "uid") == NULL, "a numeric claim names no user");
    ok(sbx_jwt_user(c, "email") == NULL, "an empty claim names no user");
    ok(sbx_jwt_user(c, "name") == NULL, "a missing claim names no user");
    cJSON_Delete(c);

    is_int(sbx_jwt_alg_from_name("ES256", 5), SBX_JWT_ES256, "ES256 is known");
    is_int(sbx_jwt_alg_key_type(SBX_JWT_HS512), SBX_JWT_KEY_HMAC,
           "HS512 takes a secret");
    is_int(sbx_jwt_alg_key_type(SBX_JWT_RS256), SBX_JWT_KEY_RSA,
           "RS256 takes an RSA key");
    is_int(sbx_jwt_alg_key_type(SBX_JWT_ES256), SBX_JWT_KEY_EC_P256,
           "ES256 takes a P-256 key");
}


int
main(void)
{
    test_split();
    test_header();
    test_times();
    test_claims();

    return done_testing();
}
