
/*
 * Copyright (C) ngx_sandbox contributors
 */


#include "sbx_ratelimit.h"


static uint64_t sbx_ratelimit_seconds_up(uint64_t usec);


int
sbx_ratelimit_parse_rate(const char *s, size_t len, uint64_t *count,
    uint64_t *period)
{
    size_t    i;
    uint64_t  n;

    if (len < sizeof("1r/s") - 1 || s[len - 3] != 'r' || s[len - 2] != '/') {
        return -1;
    }

    switch (s[len - 1]) {

    case 's':
        *period = 1;
        break;

    case 'm':
        *period = 60;
        break;

    default:
        return -1;
    }

    n = 0;

    for (i = 0; i < len - 3; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        n = n * 10 + (uint64_t) (s[i] - '0');

        if (n > SBX_RATELIMIT_RATE_MAX) {
            return -1;
        }
    }

    if (n == 0) {
        return -1;
    }

    *count = n;

    return 0;
}


int
sbx_ratelimit_init(sbx_ratelimit_t *rl, uint64_t count, uint64_t period,
    uint64_t burst)
{
    if (count == 0 || count > SBX_RATELIMIT_RATE_MAX || period == 0
        || period > 3600 || burst > SBX_RATELIMIT_BURST_MAX)
    {
        return -1;
    }

    rl->count = count;
    rl->period = period;
    rl->burst = burst ? burst : count;
    rl->interval = period * SBX_RATELIMIT_USEC / count;

    return rl->interval ? 0 : -1;
}


unsigned
sbx_ratelimit_take(const sbx_ratelimit_t *rl, uint64_t *tat, uint64_t now,
    sbx_ratelimit_result_t *res)
{
    uint64_t  tau, due, ahead;

    tau = rl->burst * rl->interval;

    /*
     * "due" is how far the key's TAT lies ahead of now.  It never exceeds
     * tau for a key limited by rl alone; a zone shared with a looser limit
     * may have put it further, and the key then counts as fully used.
     */

    due = (*tat > now) ? *tat - now : 0;

    if (due > tau) {
        due = tau;
    }

    res->limit = rl->burst;

    if (due + rl->interval > tau) {
        res->allowed = 0;
        res->remaining = 0;
        res->reset = sbx_ratelimit_seconds_up(due);
        res->retry_after = sbx_ratelimit_seconds_up(due + rl->interval - tau);

        if (res->retry_after == 0) {
            res->retry_after = 1;
        }

        return 0;
    }

    ahead = due + rl->interval;
    *tat = now + ahead;

    res->allowed = 1;
    res->remaining = (tau - ahead) / rl->interval;
    res->reset = sbx_ratelimit_seconds_up(ahead);
    res->retry_after = 0;

    return 1;
}


unsigned
sbx_ratelimit_idle(uint64_t tat, uint64_t now)
{
    return tat <= now;
}


static uint64_t
sbx_ratelimit_seconds_up(uint64_t usec)
{
    return (usec + SBX_RATELIMIT_USEC - 1) / SBX_RATELIMIT_USEC;
}
