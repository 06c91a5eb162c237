/* routes_health.c: GET /health, for load balancers and tests (no authentication). */
#include "config.h"

#include <cjson/cJSON.h>

#include "http.h"
#include "store.h"

static enum sm_rc
health(struct call *c, char **cause)
{
    enum sm_rc db = store_ping(c->st);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", db == SM_OK ? "ok" : "degraded");
    cJSON_AddStringToObject(o, "db", db == SM_OK ? "ok" : "unavailable");
    cJSON_AddStringToObject(o, "version", PACKAGE_VERSION);
    http_reply_json(c->resp, db == SM_OK ? 200 : 503, o);
    return SM_OK;
}

const struct route routes_health[] = {
    {HTTP_GET, "/health", health, ROUTE_PUBLIC, POOL_WORK},
    {0, NULL, NULL, 0, 0},
};
