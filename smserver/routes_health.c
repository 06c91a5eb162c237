/* routes_health.c: GET /health, for load balancers and tests (no authentication). */
#include "config.h"

#include <pthread.h>

#include <cjson/cJSON.h>

#include "http.h"
#include "handler.h"
#include "store.h"

/* Why ingest is being refused, from the last group commit; NULL when it was not. A full
 * disk is SM_EFULL (SQLITE_FULL, or PostgreSQL's disk_full, while the database still
 * answers); SM_EUNAVAIL is a database that cannot be reached (stopped, a password
 * refused). */
static const char *
ingest_trouble(struct server_stats *stats)
{
    pthread_mutex_lock(&stats->mu);
    enum sm_rc rc = stats->ingest_store_rc;
    pthread_mutex_unlock(&stats->mu);
    switch (rc) {
    case SM_OK:
        return NULL;
    case SM_EFULL:
        return "refused: disk full";
    case SM_EUNAVAIL:
        return "refused: database unavailable";
    case SM_EBUSY:
        return "refused: database locked";
    default:
        return "refused: write error";
    }
}

static enum sm_rc
health(struct call *c, char **cause)
{
    enum sm_rc db = store_ping(c->st);
    const char *ingest = c->env ? ingest_trouble(c->env->stats) : NULL;
    int ok = db == SM_OK && !ingest;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", ok ? "ok" : "degraded");
    cJSON_AddStringToObject(o, "db", db == SM_OK ? "ok" : "unavailable");
    cJSON_AddStringToObject(o, "ingest", ingest ? ingest : "ok");
    cJSON_AddStringToObject(o, "version", PACKAGE_VERSION);
    http_reply_json(c->resp, ok ? 200 : 503, o);
    return SM_OK;
}

const struct route routes_health[] = {
    {HTTP_GET, "/health", health, ROUTE_PUBLIC, POOL_WORK},
    {0, NULL, NULL, 0, 0},
};
