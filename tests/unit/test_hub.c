/* test_hub.c: live-stream fan-out: isolation, snapshots, status, bounded queues. */
#include "config.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "smserver/hub.h"
#include "tap.h"

#define PRE 16

static const struct hub_limits limits = {
    .pre = PRE, .queue_max = 4, .drop_close = 10, .offline_factor = 3, .min_offline = 5};

/* Pop the next message as parsed JSON (caller deletes), or NULL. */
static cJSON *
next(struct hub_client *c)
{
    const struct hub_msg *m = hub_client_peek(c);
    if (m == NULL)
        return NULL;
    cJSON *j = cJSON_ParseWithLength((const char *)m->data + PRE, m->len);
    hub_client_pop(c);
    return j;
}

static const char *
type_of(const cJSON *j)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(j, "type"));
}

static double
num(const cJSON *j, const char *k)
{
    return cJSON_GetNumberValue(cJSON_GetObjectItem(j, k));
}

static void
drain(struct hub_client *c)
{
    cJSON *j;
    while ((j = next(c)) != NULL)
        cJSON_Delete(j);
}

int
main(void)
{
    struct hub *h = hub_new(&limits);
    hub_agent_upsert(h, 1, 100, "web1", "{\"hostname\":\"web1\"}", "{\"timestamp\":1}", 0);
    hub_agent_upsert(h, 2, 100, "db1", NULL, NULL, 0);
    hub_agent_upsert(h, 3, 200, "other-users-host", NULL, "{\"timestamp\":1}", 0);

    /* Unauthenticated clients get nothing and cannot subscribe. */
    struct hub_client *anon = hub_client_new(h, NULL);
    char *cause = NULL;
    ok(hub_client_subscribe(anon, 1, NULL, 0, &cause) == SM_EAUTH,
       "unauthenticated subscribe refused");
    free(cause);
    cause = NULL;
    hub_publish(h, 1, "{\"timestamp\":2}", NULL, 1000);
    ok(hub_client_peek(anon) == NULL, "unauthenticated client receives no sample");

    /* Alice (user 100) subscribes to all: the snapshot has her two agents, not user 200's. */
    struct hub_client *alice = hub_client_new(h, (void *)0x1);
    hub_client_auth(alice, 100, 0, 5000, "famA");
    ok(hub_client_subscribe(alice, 1, NULL, 0, &cause) == SM_OK, "subscribe all");
    cJSON *j = next(alice);
    ok_str(type_of(j), "snapshot", "first message is the snapshot");
    cJSON *agents = cJSON_GetObjectItem(j, "agents");
    ok(cJSON_GetArraySize(agents) == 2, "snapshot has the user's 2 agents");
    int saw_other = 0, web1_online = -1;
    cJSON *a;
    cJSON_ArrayForEach(a, agents)
    {
        if (num(a, "agent_id") == 3)
            saw_other = 1;
        if (num(a, "agent_id") == 1) {
            web1_online = cJSON_IsTrue(cJSON_GetObjectItem(a, "online"));
            ok(num(cJSON_GetObjectItem(a, "sample"), "timestamp") == 2,
               "snapshot has the latest sample");
            ok_str(cJSON_GetStringValue(
                       cJSON_GetObjectItem(cJSON_GetObjectItem(a, "host"), "hostname")),
                   "web1", "snapshot has host facts");
        }
    }
    ok(!saw_other, "snapshot never shows another user's agent");
    ok(web1_online == 1, "web1 online after its sample");
    cJSON_Delete(j);

    /* Bob (user 200) cannot subscribe to Alice's agent by id. */
    struct hub_client *bob = hub_client_new(h, (void *)0x2);
    hub_client_auth(bob, 200, 0, 5000, "famB");
    int64_t alices[] = {1};
    ok(hub_client_subscribe(bob, 0, alices, 1, &cause) == SM_ENOTFOUND,
       "other user's agent id refused");
    ok(cause && strstr(cause, "agents[0]") != NULL, "cause names the field (%s)",
       cause ? cause : "");
    free(cause);
    cause = NULL;
    ok(hub_client_peek(bob) == NULL, "refused subscribe queues nothing");
    ok(hub_client_subscribe(bob, 1, NULL, 0, &cause) == SM_OK, "bob subscribes to all of his");
    drain(bob);

    /* A sample of agent 1 reaches Alice only. */
    hub_publish(h, 1, "{\"timestamp\":3}", NULL, 1005);
    j = next(alice);
    ok_str(type_of(j), "sample", "alice gets the sample");
    ok(num(j, "agent_id") == 1 && num(cJSON_GetObjectItem(j, "sample"), "timestamp") == 3,
       "sample carries agent id and the sample object");
    cJSON_Delete(j);
    ok(hub_client_peek(bob) == NULL, "bob does not get alice's sample");
    hub_publish(h, 3, "{\"timestamp\":4}", NULL, 1005);
    j = next(bob);
    ok_str(type_of(j), "status", "bob's agent came online: status first");
    ok(cJSON_IsTrue(cJSON_GetObjectItem(j, "online")), "status online:true");
    cJSON_Delete(j);
    j = next(bob);
    ok_str(type_of(j), "sample", "then bob's sample");
    cJSON_Delete(j);
    ok(hub_client_peek(alice) == NULL, "alice does not get bob's sample");

    /* A list subscription only gets the listed agents. */
    struct hub_client *one = hub_client_new(h, NULL);
    hub_client_auth(one, 100, 0, 5000, NULL);
    int64_t dbonly[] = {2};
    ok(hub_client_subscribe(one, 0, dbonly, 1, &cause) == SM_OK, "subscribe to [2]");
    drain(one);
    hub_publish(h, 1, "{\"timestamp\":5}", NULL, 1010);
    ok(hub_client_peek(one) == NULL, "agent 1 not sent to a [2] subscriber");
    drain(alice);

    /* /ws/{id}: a client restricted to agent 2 cannot subscribe to agent 1. */
    struct hub_client *pinned = hub_client_new(h, NULL);
    hub_client_auth(pinned, 100, 2, 5000, NULL);
    ok(hub_client_subscribe(pinned, 0, alices, 1, &cause) == SM_ENOTFOUND,
       "pinned client limited to its agent");
    free(cause);
    cause = NULL;
    ok(hub_client_subscribe(pinned, 1, NULL, 0, &cause) == SM_OK, "pinned subscribe all");
    j = next(pinned);
    ok(cJSON_GetArraySize(cJSON_GetObjectItem(j, "agents")) == 1, "pinned snapshot has one agent");
    cJSON_Delete(j);

    /* Offline after 3 missed intervals (interval ~5 s), not before. */
    hub_tick(h, 1010 + 14);
    ok(hub_client_peek(alice) == NULL, "no status before 3 intervals");
    hub_tick(h, 1010 + 20);
    j = next(alice);
    ok_str(type_of(j), "status", "status after 3 missed intervals");
    ok(cJSON_IsFalse(cJSON_GetObjectItem(j, "online")) && num(j, "last_seen") == 1010,
       "offline with last_seen");
    cJSON_Delete(j);
    hub_publish(h, 1, "{\"timestamp\":6}", NULL, 1040);
    j = next(alice);
    ok(j && cJSON_IsTrue(cJSON_GetObjectItem(j, "online")), "back online on the next sample");
    cJSON_Delete(j);
    drain(alice);

    /* A stuck client: queue bounded (4), oldest dropped, then told how many. */
    for (int i = 0; i < 7; i++) {
        char s[64];
        snprintf(s, sizeof s, "{\"timestamp\":%d}", 100 + i);
        hub_publish(h, 1, s, NULL, 1041 + i);
    }
    ok(hub_client_queued(alice) == 5, "4 queued plus a lag notice (got %zu)",
       hub_client_queued(alice));
    j = next(alice);
    ok_str(type_of(j), "lag", "lag notice comes first");
    ok(num(j, "dropped") == 3, "told 3 were dropped");
    cJSON_Delete(j);
    j = next(alice);
    ok(num(cJSON_GetObjectItem(j, "sample"), "timestamp") == 103, "oldest kept is the 4th newest");
    cJSON_Delete(j);
    drain(alice);
    ok(hub_client_close_reason(alice) == HUB_OPEN, "a client that reads stays open");

    /* Past the hard cap of unread drops the client is closed; others are untouched. */
    for (int i = 0; i < 20; i++)
        hub_publish(h, 1, "{\"timestamp\":7}", NULL, 1050 + i);
    ok(hub_client_close_reason(alice) == HUB_CLOSE_LAGGING, "stuck client marked for closing");
    ok(hub_client_close_reason(one) == HUB_OPEN, "other clients unaffected");

    /* Token expiry and logout close clients. */
    hub_tick(h, 4999);
    ok(hub_client_close_reason(bob) == HUB_OPEN, "token still valid");
    hub_revoke_family(h, "famB");
    ok(hub_client_close_reason(bob) == HUB_CLOSE_REVOKED, "logout of the family closes bob");
    hub_tick(h, 5001);
    ok(hub_client_close_reason(one) == HUB_CLOSE_EXPIRED, "expired token closes the client");

    /* Another user's token cannot take over a connection. */
    struct hub_client *take = hub_client_new(h, NULL);
    hub_client_auth(take, 100, 0, 9000, NULL);
    hub_client_auth(take, 200, 0, 9000, NULL);
    ok(hub_client_close_reason(take) == HUB_CLOSE_REVOKED, "re-auth as another user closes");

    /* Removing an agent tells subscribers and closes clients pinned to it. */
    struct hub_client *carol = hub_client_new(h, NULL);
    hub_client_auth(carol, 100, 0, 9000, NULL);
    ok(hub_client_subscribe(carol, 1, NULL, 0, &cause) == SM_OK, "carol subscribes");
    drain(carol);
    hub_agent_remove(h, 2);
    j = next(carol);
    ok_str(type_of(j), "removed", "removal notice");
    cJSON_Delete(j);
    ok(hub_client_close_reason(pinned) == HUB_CLOSE_REVOKED,
       "client pinned to a deleted agent closed");
    hub_publish(h, 2, "{\"timestamp\":8}", NULL, 2000);
    ok(hub_client_peek(carol) == NULL, "removed agent publishes nothing");

    struct hub_stats st;
    hub_stats(h, &st);
    ok(st.clients == 7 && st.agents == 2 && st.dropped > 0, "stats count clients, agents, drops");
    hub_client_free(anon);
    hub_client_free(alice);
    hub_client_free(bob);
    hub_client_free(one);
    hub_client_free(pinned);
    hub_client_free(take);
    hub_client_free(carol);
    hub_free(h);
    return tap_done();
}
