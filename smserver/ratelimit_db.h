/* ratelimit_db.h: the login (and test notification) rate limiter of the handlers: auth.h's
 * ratelimit, plus the counts the database keeps for every instance when several share
 * one (store_limit_check). */
#ifndef SM_SMSERVER_RATELIMIT_DB_H
#define SM_SMSERVER_RATELIMIT_DB_H

#include "auth.h"
#include "store.h"

/* auth.h's ratelimit functions for a handler with its connection st: when the database keeps shared
 * counts (several instances on PostgreSQL: store_limit_check), every instance's failures count; the
 * process counts too, so a database that fails keeps this instance's limit. SQLite: exactly the
 * functions above. */
int ratelimit_check_st(struct ratelimit *r, struct store *st, const char *kind, const char *key,
                       int limit, double now);
void ratelimit_fail_st(struct ratelimit *r, struct store *st, const char *kind, const char *key,
                       double now);
void ratelimit_reset_st(struct ratelimit *r, struct store *st, const char *kind, const char *key);

#endif
