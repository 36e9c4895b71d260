
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * Rate limit arithmetic: the generic cell rate algorithm (GCRA).  Plain
 * C11 with no dependency, so that it is unit tested on its own.
 *
 * A limit lets "burst" requests through at once and then one every
 * "interval" microseconds.  The whole state of a key is one integer, its
 * theoretical arrival time (TAT): the time at which the key would be
 * idle again had it sent its requests evenly spaced.  A key's allowance is
 * full when TAT <= now; each admitted request moves TAT one interval on
 * (from now, if TAT was in the past); a request is refused when that
 * would put TAT more than burst * interval after now.  Refused requests
 * do not move TAT.
 *
 * What a decision reports, as the RateLimit-* headers send it:
 *
 *   limit        burst: the most requests allowed at once after idling;
 *   remaining    how many more requests would be admitted right now, back
 *                to back (0 after a refusal);
 *   reset        whole seconds, rounded up, until the allowance is full
 *                again (remaining == limit); 0 when it already is;
 *   retry_after  on a refusal, whole seconds, rounded up and at least 1,
 *                until one request would be admitted; 0 when admitted.
 */


#ifndef SBX_RATELIMIT_H
#define SBX_RATELIMIT_H


#include <stddef.h>
#include <stdint.h>


#define SBX_RATELIMIT_USEC         1000000ULL
#define SBX_RATELIMIT_RATE_MAX     1000000ULL     /* per period */
#define SBX_RATELIMIT_BURST_MAX    1000000ULL


typedef struct {
    uint64_t  interval;     /* microseconds between two requests, >= 1 */
    uint64_t  burst;        /* requests allowed at once, >= 1 */
    uint64_t  count;        /* as configured: count requests ... */
    uint64_t  period;       /* ... per period seconds (1 or 60) */
} sbx_ratelimit_t;


typedef struct {
    unsigned  allowed;
    uint64_t  limit;
    uint64_t  remaining;
    uint64_t  reset;
    uint64_t  retry_after;
} sbx_ratelimit_result_t;


/*
 * Parses a rate, "<N>r/s" or "<N>r/m" with 1 <= N <= SBX_RATELIMIT_RATE_MAX,
 * into *count and *period (seconds).  Returns 0, or -1 when it is not one.
 */
int sbx_ratelimit_parse_rate(const char *s, size_t len, uint64_t *count,
    uint64_t *period);

/*
 * Fills *rl for count requests per period seconds and a burst (0: the
 * default, count).  Returns 0, or -1 when a value is out of range (count
 * or burst above its maximum, or a rate faster than one a microsecond).
 */
int sbx_ratelimit_init(sbx_ratelimit_t *rl, uint64_t count, uint64_t period,
    uint64_t burst);

/*
 * Decides on one request of a key whose state is *tat at time now (both
 * in microseconds of the same clock; a new key's TAT is 0), updates *tat
 * when the request is admitted and fills *res.  Returns res->allowed.
 */
unsigned sbx_ratelimit_take(const sbx_ratelimit_t *rl, uint64_t *tat,
    uint64_t now, sbx_ratelimit_result_t *res);

/*
 * Whether a key with this TAT has its full allowance at time now, so that
 * forgetting it changes nothing.
 */
unsigned sbx_ratelimit_idle(uint64_t tat, uint64_t now);


#endif /* SBX_RATELIMIT_H */
