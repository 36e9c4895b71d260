
/*
 * Copyright (C) ngx_sandbox contributors
 *
 * The GCRA rate limit arithmetic of sbx_ratelimit.c.
 */


#include "tap.h"
#include "sbx_ratelimit.h"


#define SEC  1000000ULL


static int
parse(const char *s, uint64_t *count, uint64_t *period)
{
    return sbx_ratelimit_parse_rate(s, strlen(s), count, period);
}


static void
test_parse(void)
{
    uint64_t  count, period;

    is_int(parse("10r/s", &count, &period), 0, "10r/s parses");
    is_int(count, 10, "10r/s: count 10");
    is_int(period, 1, "10r/s: per second");

    is_int(parse("60r/m", &count, &period), 0, "60r/m parses");
    is_int(count, 60, "60r/m: count 60");
    is_int(period, 60, "60r/m: per minute");

    is_int(parse("1000000r/s", &count, &period), 0, "the largest rate");
    is_int(parse("1000001r/s", &count, &period), -1, "one more is refused");
    is_int(parse("99999999999999999999999r/s", &count, &period), -1,
           "no overflow on a long number");
    is_int(parse("0r/s", &count, &period), -1, "zero is refused");
    is_int(parse("r/s", &count, &period), -1, "no number");
    is_int(parse("10r/h", &count, &period), -1, "an unknown unit");
    is_int(parse("10", &count, &period), -1, "no unit");
    is_int(parse("-1r/s", &count, &period), -1, "a sign");
    is_int(parse("1 r/s", &count, &period), -1, "a space");
    is_int(parse("10x/s", &count, &period), -1, "not r/");
    is_int(parse("", &count, &period), -1, "empty");
}


static void
test_init(void)
{
    sbx_ratelimit_t  rl;

    is_int(sbx_ratelimit_init(&rl, 60, 60, 0), 0, "60r/m");
    is_int(rl.interval, SEC, "60r/m: one a second");
    is_int(rl.burst, 60, "the default burst is the rate's count");

    is_int(sbx_ratelimit_init(&rl, 10, 1, 25), 0, "10r/s burst=25");
    is_int(rl.interval, SEC / 10, "10r/s: 100 ms apart");
    is_int(rl.burst, 25, "an explicit burst");

    is_int(sbx_ratelimit_init(&rl, 7, 60, 1), 0, "7r/m");
    is_int(rl.interval, 60 * SEC / 7, "7r/m: the interval is rounded down");

    is_int(sbx_ratelimit_init(&rl, 1000000, 1, 0), 0, "1000000r/s");
    is_int(rl.interval, 1, "one a microsecond");

    is_int(sbx_ratelimit_init(&rl, 0, 1, 0), -1, "a zero rate is refused");
    is_int(sbx_ratelimit_init(&rl, 1, 1, SBX_RATELIMIT_BURST_MAX + 1), -1,
           "a burst above the maximum is refused");
}


/* Sends n requests at time now; returns how many were admitted. */

static int
take_n(sbx_ratelimit_t *rl, uint64_t *tat, uint64_t now, int n,
    sbx_ratelimit_result_t *last)
{
    int  i, admitted;

    admitted = 0;

    for (i = 0; i < n; i++) {
        admitted += sbx_ratelimit_take(rl, tat, now, last);
    }

    return admitted;
}


static void
test_burst_then_rate(void)
{
    uint64_t                now, tat;
    sbx_ratelimit_t         rl;
    sbx_ratelimit_result_t  res;

    /* 60r/m, burst 60: 60 at once, then one a second */

    sbx_ratelimit_init(&rl, 60, 60, 0);
    now = 1000 * SEC;
    tat = 0;

    ok(sbx_ratelimit_take(&rl, &tat, now, &res), "a new key is admitted");
    is_int(res.limit, 60, "limit is the burst");
    is_int(res.remaining, 59, "remaining counts this request");
    is_int(res.reset, 1, "reset: one interval to be full again");
    is_int(res.retry_after, 0, "no retry-after when admitted");
    is_int(tat, now + SEC, "TAT is one interval ahead");

    is_int(take_n(&rl, &tat, now, 58, &res), 58, "58 more at once");
    is_int(res.remaining, 1, "one left");
    is_int(res.reset, 59, "59 s to be full again");

    ok(sbx_ratelimit_take(&rl, &tat, now, &res), "the 60th is admitted");
    is_int(res.remaining, 0, "none left");
    is_int(res.reset, 60, "60 s to be full again");

    ok(!sbx_ratelimit_take(&rl, &tat, now, &res), "the 61st is refused");
    is_int(res.remaining, 0, "refused: remaining 0");
    is_int(res.retry_after, 1, "refused: retry after 1 s");
    is_int(res.reset, 60, "refused: reset unchanged");
    is_int(tat, now + 60 * SEC, "a refusal does not move TAT");

    ok(!sbx_ratelimit_take(&rl, &tat, now + SEC - 1, &res),
       "still refused 1 us before the interval");
    is_int(res.retry_after, 1, "retry after rounds up to 1 s");

    ok(sbx_ratelimit_take(&rl, &tat, now + SEC, &res),
       "admitted one interval later");
    is_int(res.remaining, 0, "and none left again");

    ok(!sbx_ratelimit_take(&rl, &tat, now + SEC, &res),
       "refused right after");

    ok(sbx_ratelimit_take(&rl, &tat, now + 1000 * SEC, &res),
       "admitted after a long idle time");
    is_int(res.remaining, 59, "with the full allowance back");
}


static void
test_retry_after(void)
{
    uint64_t                now, tat;
    sbx_ratelimit_t         rl;
    sbx_ratelimit_result_t  res;

    /* 2r/m burst 1: one request, then one every 30 s */

    sbx_ratelimit_init(&rl, 2, 60, 1);
    now = 50 * SEC;
    tat = 0;

    ok(sbx_ratelimit_take(&rl, &tat, now, &res), "first admitted");
    is_int(res.remaining, 0, "burst 1: nothing left");
    is_int(res.reset, 30, "reset 30 s");

    ok(!sbx_ratelimit_take(&rl, &tat, now + 10 * SEC + 1, &res),
       "refused 10 s later");
    is_int(res.retry_after, 20, "retry after 20 s (rounded up)");
    is_int(res.reset, 20, "reset 20 s");

    ok(sbx_ratelimit_take(&rl, &tat, now + 30 * SEC, &res),
       "admitted after 30 s");
}


static void
test_partial_recovery(void)
{
    uint64_t                now, tat;
    sbx_ratelimit_t         rl;
    sbx_ratelimit_result_t  res;

    /* 10r/s burst 5 */

    sbx_ratelimit_init(&rl, 10, 1, 5);
    now = 7 * SEC;
    tat = 0;

    is_int(take_n(&rl, &tat, now, 10, &res), 5, "5 of 10 at once");

    ok(sbx_ratelimit_take(&rl, &tat, now + 250000, &res),
       "250 ms later one is admitted");
    is_int(res.remaining, 1, "and one more could be (2.5 intervals back)");
    is_int(res.reset, 1, "reset rounds 450 ms up to 1 s");

    is_int(take_n(&rl, &tat, now + 250000, 5, &res), 1,
           "exactly one more is");
}


static void
test_clamp_and_idle(void)
{
    uint64_t                now, tat;
    sbx_ratelimit_t         rl;
    sbx_ratelimit_result_t  res;

    sbx_ratelimit_init(&rl, 1, 1, 3);
    now = 100 * SEC;

    tat = now + 3600 * SEC;
    ok(!sbx_ratelimit_take(&rl, &tat, now, &res),
       "a TAT far ahead (a looser limit on the zone) is fully used");
    is_int(res.reset, 3, "reset is clamped to burst * interval");
    is_int(res.retry_after, 1, "retry after one interval");

    ok(sbx_ratelimit_idle(now, now), "TAT == now: idle");
    ok(sbx_ratelimit_idle(0, now), "a new key is idle");
    ok(!sbx_ratelimit_idle(now + 1, now), "TAT ahead: not idle");
}


int
main(void)
{
    test_parse();
    test_init();
    test_burst_then_rate();
    test_retry_after();
    test_partial_recovery();
    test_clamp_and_idle();

    return done_testing();
}
