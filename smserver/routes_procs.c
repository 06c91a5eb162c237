/* routes_procs.c: GET /history/{id}/processes, the stored process snapshot of a past
 * minute ("what was hot at 03:12", store.h "Process snapshots"). Every parameter is
 * parsed by a grammar and bounded; values reach SQL only as bound parameters. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "http.h"
#include "store.h"
#include "timerange.h"
#include "xmalloc.h"

#define PROCS_WINDOW_DEFAULT_S 300 /* how far before `at` a snapshot still answers */

/* at (the time grammar of start and stop; default now) and window (seconds). */
static enum sm_rc
parse_query(const struct call *c, int64_t *at_ms, long *window, char **cause)
{
    const struct req *r = c->req;
    const char *at = "now", *win = NULL;
    int seen_at = 0, seen_window = 0;
    if (r->query_bad) {
        *cause = sm_xasprintf("query: at most %d arguments of %d bytes in all", HTTP_QUERY_ARGS,
                              HTTP_QUERY_MAX);
        return SM_EINVAL;
    }
    for (int i = 0; i < r->nargs; i++) {
        const char *a = r->args[i], *eq = strchr(a, '=');
        if (eq == NULL) {
            *cause = sm_xasprintf("%.32s: has no value (query argument %d)", a, i + 1);
            return SM_EINVAL;
        }
        size_t klen = (size_t)(eq - a);
        int *seen;
        if (klen == 2 && strncmp(a, "at", 2) == 0) {
            at = eq + 1;
            seen = &seen_at;
        } else if (klen == 6 && strncmp(a, "window", 6) == 0) {
            win = eq + 1;
            seen = &seen_window;
        } else {
            *cause = sm_xasprintf("%.*s: unknown parameter (at, window)",
                                  (int)(klen > 32 ? 32 : klen), a);
            return SM_EINVAL;
        }
        if ((*seen)++) {
            *cause = sm_xasprintf("%.*s: given twice", (int)klen, a);
            return SM_EINVAL;
        }
    }
    double t;
    if (sm_time_parse(at, c->now, "at", &t, cause) != SM_OK)
        return SM_EINVAL;
    *window = PROCS_WINDOW_DEFAULT_S;
    if (win && sm_parse_long(win, 0, STORE_PROCS_WINDOW_MAX_S, window) != 0) {
        *cause = sm_xasprintf("window: must be a number of seconds from 0 to %d",
                              STORE_PROCS_WINDOW_MAX_S);
        return SM_EINVAL;
    }
    *at_ms = (int64_t)(t * 1000);
    return SM_OK;
}

/* {"agent_id", "at", "time", "ts", "processes": [...]}; the stored array is copied in
 * as it is (the server wrote it from a decoded sample). */
static enum sm_rc
h_processes(struct call *c, char **cause)
{
    int64_t at_ms;
    long window;
    struct store_agent a;
    /* The agent first: another user's is a 404 whatever the query says. */
    enum sm_rc rc = store_agent_get(c->st, c->user_id, c->req->id, &a);
    if (rc == SM_ENOTFOUND) {
        *cause = sm_xstrdup("Agent not found");
        return rc;
    }
    if (rc != SM_OK)
        return rc;
    store_agent_done(&a);
    if ((rc = parse_query(c, &at_ms, &window, cause)) != SM_OK)
        return rc;
    struct store_procs p;
    rc = store_procs_at(c->st, c->user_id, c->req->id, at_ms, window, &p, cause);
    if (rc == SM_ENOTFOUND) {
        *cause = sm_xstrdup("no process snapshot at or before at (within window seconds)");
        return rc;
    }
    if (rc != SM_OK)
        return rc;
    char at_iso[40], ts_iso[40];
    sm_time_format((double)at_ms / 1000.0, at_iso, sizeof at_iso);
    sm_time_format((double)p.ts_ms / 1000.0, ts_iso, sizeof ts_iso);
    struct resp *r = c->resp;
    resp_done(r);
    r->body = sm_xasprintf("{\"agent_id\":%lld,\"at\":\"%s\",\"time\":\"%s\",\"ts\":%.3f,"
                           "\"processes\":%s}",
                           (long long)c->req->id, at_iso, ts_iso, (double)p.ts_ms / 1000.0, p.json);
    r->len = strlen(r->body);
    r->status = 200;
    free(p.json);
    return SM_OK;
}

const struct route routes_procs[] = {
    {HTTP_GET, "/history/{id}/processes", h_processes, ROUTE_USER, POOL_WORK},
    {0, NULL, NULL, 0, 0},
};
