/* client_probe.c: drive smtop's network client (smtop/client.c) against a real server and
 * print every event as one line, for tests/integration/smtop_client.sh.
 *
 * usage: client_probe --server URL [--user NAME] [--password-file FILE] [--state-dir DIR]
 *                     [--seconds S] [--get PATH]... [--exit-after TYPE:N]
 *
 * Lines: "login password|refresh", "state connecting|live|reconnecting SECS WHY|auth-failed
 * WHY", "snapshot begin|end", "agent ID NAME online|offline|unknown", "sample ID CPU%",
 * "status ID online|offline", "removed ID", "lag N", "error TEXT", "reply ID STATUS
 * KEYS". Exits 0 after S seconds, on SIGTERM, or after N events of TYPE; 1 when the login
 * fails (the message on stderr, as smtop prints it). */
#include "config.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "log.h"
#include "smtop/client.h"
#include "smtop/loop.h"

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

struct probe {
    const char *exit_type;
    long exit_n;
    long seen;
    const char *password_file;
    const char *user;
};

static const char *const type_names[] = {
    [CLIENT_EV_STATE] = "state",     [CLIENT_EV_SNAPSHOT_BEGIN] = "snapshot",
    [CLIENT_EV_AGENT] = "agent",     [CLIENT_EV_SNAPSHOT_END] = "snapshot-end",
    [CLIENT_EV_SAMPLE] = "sample",   [CLIENT_EV_STATUS] = "status",
    [CLIENT_EV_REMOVED] = "removed", [CLIENT_EV_LAG] = "lag",
    [CLIENT_EV_ERROR] = "error",     [CLIENT_EV_REPLY] = "reply",
    [CLIENT_EV_ALERT] = "alert",     [CLIENT_EV_ALERTS] = "alerts",
};

static void
on_event(void *arg, struct client_event *ev)
{
    struct probe *p = arg;
    switch (ev->type) {
    case CLIENT_EV_STATE: {
        static const char *const st[] = {"connecting", "live", "reconnecting", "auth-failed"};
        printf("state %s", st[ev->state]);
        if (ev->state == CLIENT_RECONNECTING)
            printf(" %.1f", ev->retry_in);
        if (ev->text)
            printf(" %s", ev->text);
        printf("\n");
        break;
    }
    case CLIENT_EV_SNAPSHOT_BEGIN:
        printf("snapshot begin\n");
        break;
    case CLIENT_EV_SNAPSHOT_END:
        printf("snapshot end\n");
        break;
    case CLIENT_EV_AGENT:
        printf("agent %lld %s %s%s\n", (long long)ev->agent_id, ev->name,
               ev->online < 0 ? "unknown"
               : ev->online   ? "online"
                              : "offline",
               ev->sample ? " with-sample" : "");
        break;
    case CLIENT_EV_SAMPLE:
        printf("sample %lld %.1f\n", (long long)ev->agent_id, ev->sample->cpu.usage);
        break;
    case CLIENT_EV_STATUS:
        printf("status %lld %s\n", (long long)ev->agent_id, ev->online ? "online" : "offline");
        break;
    case CLIENT_EV_REMOVED:
        printf("removed %lld\n", (long long)ev->agent_id);
        break;
    case CLIENT_EV_LAG:
        printf("lag %llu\n", (unsigned long long)ev->dropped);
        break;
    case CLIENT_EV_ERROR:
        printf("error %s\n", ev->text);
        break;
    case CLIENT_EV_REPLY: {
        printf("reply %llu %d", (unsigned long long)ev->req_id, ev->status);
        const cJSON *k;
        if (cJSON_IsObject(ev->body))
            cJSON_ArrayForEach(k, ev->body) printf(" %s", k->string);
        if (ev->text)
            printf(" (%s)", ev->text);
        printf("\n");
        break;
    }
    case CLIENT_EV_ALERT: {
        const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev->body, "state"));
        printf("alert %lld %s\n", (long long)ev->agent_id, st ? st : "-");
        break;
    }
    case CLIENT_EV_ALERTS:
        printf("alerts %d %d\n", ev->status,
               cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ev->body, "active")));
        break;
    }
    fflush(stdout);
    if (p->exit_type && strcmp(p->exit_type, type_names[ev->type]) == 0 && ++p->seen >= p->exit_n)
        stop = 1;
}

static char *
get_password(void *arg, char **cause)
{
    struct probe *p = arg;
    return client_password(p->password_file, p->user, cause);
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {{"server", required_argument, NULL, 's'},
                                         {"user", required_argument, NULL, 'u'},
                                         {"password-file", required_argument, NULL, 'p'},
                                         {"state-dir", required_argument, NULL, 'S'},
                                         {"seconds", required_argument, NULL, 't'},
                                         {"get", required_argument, NULL, 'g'},
                                         {"exit-after", required_argument, NULL, 'x'},
                                         {"ca-file", required_argument, NULL, 'C'},
                                         {NULL, 0, NULL, 0}};
    struct client_options o = {.user = getenv("USER")};
    struct probe p = {0};
    double seconds = 30;
    const char *gets[16];
    int ngets = 0;
    const char *ca_file = NULL;
    int ch;
    sm_log_init("client_probe");
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 's':
            o.url = optarg;
            break;
        case 'u':
            o.user = optarg;
            break;
        case 'C':
            ca_file = optarg;
            break;
        case 'p':
            p.password_file = optarg;
            break;
        case 'S':
            o.state_dir = optarg;
            break;
        case 't':
            if (sm_parse_double(optarg, 0.1, 3600, &seconds) != 0)
                sm_usage_error("--seconds: must be a number from 0.1 to 3600");
            break;
        case 'g':
            if (ngets == 16)
                sm_usage_error("--get: at most 16");
            gets[ngets++] = optarg;
            break;
        case 'x': {
            char *colon = strchr(optarg, ':');
            if (colon == NULL || sm_parse_long(colon + 1, 1, 1000000, &p.exit_n) != 0)
                sm_usage_error("--exit-after: TYPE:N");
            *colon = '\0';
            p.exit_type = optarg;
            break;
        }
        default:
            sm_usage_error("unknown option");
        }
    }
    if (o.url == NULL)
        sm_usage_error("--server is required");
    p.user = o.user ? o.user : "";
    struct client *c = NULL;
    char *cause = NULL;
    /* The client runs on smtop's loop, as in smtop. */
    struct loop *loop = loop_new(client_protocols(), client_url_is_tls(o.url), ca_file);
    o.ctx = loop_context(loop);
    if (client_new(&o, &c, &cause) != SM_OK)
        sm_usage_error("%s", cause);
    int used_password = 0;
    enum sm_rc rc = client_login(c, get_password, &p, &used_password, &cause);
    if (rc != SM_OK) {
        fprintf(stderr, "client_probe: %s\n", cause);
        free(cause);
        client_free(c);
        loop_free(loop);
        return SM_EXIT_FAIL;
    }
    printf("login %s\n", used_password ? "password" : "refresh");
    fflush(stdout);
    if (client_start(c, &cause) != SM_OK)
        sm_die(SM_EXIT_FAIL, "%s", cause);
    for (int i = 0; i < ngets; i++)
        printf("get %llu %s\n", (unsigned long long)client_get(c, gets[i]), gets[i]);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    double end = sm_mono_now() + seconds;
    while (!stop && sm_mono_now() < end) {
        loop_once(loop, 0.1);
        client_drain(c, on_event, &p);
    }
    client_free(c);
    loop_free(loop);
    return SM_EXIT_OK;
}
