/* ratelimit_db.c: rate limits that count across instances (ratelimit_db.h). */
#include "config.h"

#include "ratelimit_db.h"

int
ratelimit_check_st(struct ratelimit *r, struct store *st, const char *kind, const char *key,
                   int limit, double now)
{
    int wait = ratelimit_check(r, kind, key, limit, now), shared = 0;
    if (st && store_limit_check(st, kind, key, limit, r->window, now, &shared) == SM_OK &&
        shared > wait)
        wait = shared;
    return wait;
}

void
ratelimit_fail_st(struct ratelimit *r, struct store *st, const char *kind, const char *key,
                  double now)
{
    ratelimit_fail(r, kind, key, now);
    /* A failed write leaves this instance's count, above. */
    if (st && store_limit_fail(st, kind, key, r->window, now) != SM_OK)
        return;
}

void
ratelimit_reset_st(struct ratelimit *r, struct store *st, const char *kind, const char *key)
{
    ratelimit_reset(r, kind, key);
    if (st && store_limit_reset(st, kind, key) != SM_OK)
        return;
}
