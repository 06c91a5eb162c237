/* admin.c: the admin sub-commands, one table entry each. They open the database
 * directly (the server may be running: SQLite handles the locking). */
#include "config.h"

#include "admin.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "alerts.h"
#include "auth.h"
#include "cli.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

struct admin_opts {
    const char *state_dir;
    const char *db;
    const char *user; /* --user */
    int nargs;
    char **args;
};

typedef int (*admin_fn)(struct store *st, const struct admin_opts *o);

struct admin_cmd {
    const char *noun, *verb;
    int nargs; /* positional arguments after the verb */
    const char *usage;
    admin_fn fn;
};

static int
read_password(char *out, size_t outsz)
{
    if (!fgets(out, (int)outsz, stdin))
        return -1;
    size_t n = strlen(out);
    if (n && out[n - 1] == '\n')
        out[--n] = '\0';
    else if (n == outsz - 1)
        return -1; /* longer than the cap */
    if (n && out[n - 1] == '\r')
        out[--n] = '\0';
    return 0;
}

static int
user_add(struct store *st, const struct admin_opts *o)
{
    const char *name = o->args[0];
    size_t nl = strlen(name);
    if (nl == 0 || nl > STORE_NAME_MAX ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
                     "OPQRSTUVWXYZ0123456789._@-") != nl)
        sm_usage_error("user add: NAME: 1 to %d letters, digits or . _ @ -", STORE_NAME_MAX);
    char pw[AUTH_PASSWORD_MAX + 2];
    if (read_password(pw, sizeof pw) != 0)
        sm_die(SM_EXIT_USAGE,
               "user add: give the password on standard input (one line, at most "
               "%d characters)",
               AUTH_PASSWORD_MAX);
    if (strlen(pw) < AUTH_PASSWORD_MIN) {
        sodium_memzero(pw, sizeof pw);
        sm_die(SM_EXIT_USAGE, "user add: password: must be at least %d characters long",
               AUTH_PASSWORD_MIN);
    }
    char hash[AUTH_PWHASH_LEN];
    enum sm_rc rc = auth_password_hash(pw, hash);
    sodium_memzero(pw, sizeof pw);
    if (rc != SM_OK)
        sm_die(SM_EXIT_FAIL, "user add: password hashing: out of memory");
    struct store_user u;
    rc = store_user_add(st, name, hash, (int64_t)time(NULL), &u);
    if (rc == SM_ECONFLICT)
        sm_die(SM_EXIT_FAIL, "user add: %s: already exists", name);
    if (rc != SM_OK)
        sm_die(sm_rc_exit(rc), "user add: %s", sm_rc_str(rc));
    printf("{\"id\":%lld,\"username\":\"%s\"}\n", (long long)u.id, u.name);
    return SM_EXIT_OK;
}

static void
print_user(const struct store_user *u, void *arg)
{
    char when[32];
    http_time_iso(u->created, when);
    printf("%-6lld %-24s %s\n", (long long)u->id, u->name, when);
    (void)arg;
}

static int
user_list(struct store *st, const struct admin_opts *o)
{
    printf("%-6s %-24s %s\n", "ID", "NAME", "CREATED");
    enum sm_rc rc = store_user_list(st, print_user, NULL);
    if (rc != SM_OK)
        sm_die(sm_rc_exit(rc), "user list: %s", sm_rc_str(rc));
    return SM_EXIT_OK;
}

static int64_t
user_id_of(struct store *st, const char *name, const char *what)
{
    struct store_user u;
    enum sm_rc rc = store_user_by_name(st, name, &u);
    sodium_memzero(u.pwhash, sizeof u.pwhash);
    if (rc == SM_ENOTFOUND)
        sm_die(SM_EXIT_FAIL, "%s: no user named %s", what, name);
    if (rc != SM_OK)
        sm_die(sm_rc_exit(rc), "%s: %s", what, sm_rc_str(rc));
    return u.id;
}

static int
agent_add(struct store *st, const struct admin_opts *o)
{
    if (!o->user)
        sm_usage_error("agent add: --user NAME is required");
    const char *name = o->args[0];
    if (strlen(name) == 0 || strlen(name) > STORE_NAME_MAX)
        sm_usage_error("agent add: AGENTNAME: 1 to %d characters", STORE_NAME_MAX);
    int64_t uid = user_id_of(st, o->user, "agent add");
    char token[AUTH_TOKEN_LEN + 1];
    uint8_t hash[STORE_HASH_LEN];
    auth_token_new(token, hash);
    struct store_agent a;
    enum sm_rc rc = store_agent_add(st, uid, name, hash, (int64_t)time(NULL), &a);
    if (rc == SM_ECONFLICT)
        sm_die(SM_EXIT_FAIL, "agent add: %s already has an agent named %s", o->user, name);
    if (rc != SM_OK)
        sm_die(sm_rc_exit(rc), "agent add: %s", sm_rc_str(rc));
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", (double)a.id);
    cJSON_AddStringToObject(j, "name", a.name);
    cJSON_AddStringToObject(j, "token", token);
    char *text = cJSON_PrintUnformatted(j);
    printf("%s\n", text);
    sodium_memzero(text, strlen(text));
    sodium_memzero(token, sizeof token);
    cJSON_free(text);
    cJSON_Delete(j);
    store_agent_done(&a);
    return SM_EXIT_OK;
}

static void
print_agent(const struct store_agent *a, void *arg)
{
    char seen[32] = "never";
    if (a->last_seen)
        http_time_iso(a->last_seen, seen);
    printf("%-6lld %-6lld %-24s %s\n", (long long)a->id, (long long)a->user_id, a->name, seen);
    (void)arg;
}

static int
agent_list(struct store *st, const struct admin_opts *o)
{
    int64_t uid = o->user ? user_id_of(st, o->user, "agent list") : 0;
    printf("%-6s %-6s %-24s %s\n", "ID", "USER", "NAME", "LAST SEEN");
    enum sm_rc rc = store_agent_list(st, uid, print_agent, NULL);
    if (rc != SM_OK)
        sm_die(sm_rc_exit(rc), "agent list: %s", sm_rc_str(rc));
    return SM_EXIT_OK;
}

static void
print_rule(const struct store_rule *r, void *arg)
{
    char cond[STORE_METRIC_MAX + STORE_LABELS_MAX + 64], scope[24] = "all", channel[24] = "-";
    if (strcmp(r->metric, "agent.offline") == 0)
        snprintf(cond, sizeof cond, "%s", r->metric);
    else
        snprintf(cond, sizeof cond, "%s%s%s%s %c %g", r->metric, r->labels[0] ? "{" : "", r->labels,
                 r->labels[0] ? "}" : "", r->op, r->threshold);
    if (r->agent_id)
        snprintf(scope, sizeof scope, "agent %lld", (long long)r->agent_id);
    if (r->channel_id)
        snprintf(channel, sizeof channel, "%lld", (long long)r->channel_id);
    printf("%-6lld %-6lld %-20s %-40s %-6lld %-12s %-9s %s\n", (long long)r->id,
           (long long)r->user_id, r->name, cond, (long long)r->for_seconds, scope, r->severity,
           channel);
    (void)arg;
}

static int
alert_list(struct store *st, const struct admin_opts *o)
{
    int64_t uid = o->user ? user_id_of(st, o->user, "alert list") : 0;
    printf("%-6s %-6s %-20s %-40s %-6s %-12s %-9s %s\n", "ID", "USER", "NAME", "CONDITION", "FOR",
           "SCOPE", "SEVERITY", "CHANNEL");
    enum sm_rc rc = store_rule_list(st, uid, print_rule, NULL);
    if (rc != SM_OK)
        sm_die(sm_rc_exit(rc), "alert list: %s", sm_rc_str(rc));
    return SM_EXIT_OK;
}

#define ADMIN_RULE_MAX 65536 /* largest rule body read from stdin */

/* The rule is the JSON body POST /alerts takes, read from stdin. */
static int
alert_add(struct store *st, const struct admin_opts *o)
{
    if (!o->user)
        sm_usage_error("alert add: --user NAME is required");
    int64_t uid = user_id_of(st, o->user, "alert add");
    char *buf = sm_xmalloc(ADMIN_RULE_MAX + 1);
    size_t len = fread(buf, 1, ADMIN_RULE_MAX + 1, stdin);
    if (ferror(stdin) || len == 0 || len > ADMIN_RULE_MAX)
        sm_die(SM_EXIT_USAGE,
               "alert add: give the rule as a JSON object on standard input (at most %d bytes),"
               " e.g. {\"name\":\"cpu\",\"metric\":\"cpu.usage\",\"op\":\">\","
               "\"threshold\":90,\"for_seconds\":60}",
               ADMIN_RULE_MAX);
    cJSON *body = NULL;
    char *cause = NULL;
    enum sm_rc rc = sm_json_parse(buf, len, HTTP_JSON_DEPTH, &body, &cause);
    free(buf);
    if (rc != SM_OK)
        sm_die(SM_EXIT_USAGE, "alert add: %s", cause ? cause : "invalid JSON");
    if (!cJSON_IsObject(body))
        sm_die(SM_EXIT_USAGE, "alert add: the rule must be a JSON object");
    struct store_rule r;
    memset(&r, 0, sizeof r);
    rc = alert_rule_create(st, uid, body, (int64_t)time(NULL), &r, &cause);
    cJSON_Delete(body);
    if (rc == SM_EINVAL || rc == SM_EPARSE)
        sm_die(SM_EXIT_USAGE, "alert add: %s", cause);
    if (rc != SM_OK)
        sm_die(sm_rc_exit(rc), "alert add: %s", cause ? cause : sm_rc_str(rc));
    cJSON *j = alert_rule_json(&r);
    char *text = cJSON_PrintUnformatted(j);
    printf("%s\n", text);
    cJSON_free(text);
    cJSON_Delete(j);
    return SM_EXIT_OK;
}

static int
alert_delete(struct store *st, const struct admin_opts *o)
{
    if (!o->user)
        sm_usage_error("alert delete: --user NAME is required");
    const char *arg = o->args[0];
    size_t n = strlen(arg);
    if (n == 0 || n > 15 || strspn(arg, "0123456789") != n)
        sm_usage_error("alert delete: ID: a rule id (a whole number), as alert list shows");
    int64_t id = (int64_t)strtoll(arg, NULL, 10);
    int64_t uid = user_id_of(st, o->user, "alert delete");
    enum sm_rc rc = store_rule_delete(st, uid, id);
    if (rc == SM_ENOTFOUND)
        sm_die(SM_EXIT_FAIL, "alert delete: %s has no alert rule %s", o->user, arg);
    if (rc != SM_OK)
        sm_die(sm_rc_exit(rc), "alert delete: %s", sm_rc_str(rc));
    return SM_EXIT_OK;
}

static const struct admin_cmd commands[] = {
    {"user", "add", 1, "user add NAME [--state-dir DIR | --db PATH]   (password on stdin)",
     user_add},
    {"user", "list", 0, "user list [--state-dir DIR | --db PATH]", user_list},
    {"agent", "add", 1, "agent add --user NAME AGENTNAME [--state-dir DIR | --db PATH]", agent_add},
    {"agent", "list", 0, "agent list [--user NAME] [--state-dir DIR | --db PATH]", agent_list},
    {"alert", "list", 0, "alert list [--user NAME] [--state-dir DIR | --db PATH]", alert_list},
    {"alert", "add", 0,
     "alert add --user NAME [--state-dir DIR | --db PATH]   (rule JSON on stdin)", alert_add},
    {"alert", "delete", 1, "alert delete --user NAME ID [--state-dir DIR | --db PATH]",
     alert_delete},
};

int
admin_is_command(int argc, char **argv)
{
    return argc > 1 && (strcmp(argv[1], "user") == 0 || strcmp(argv[1], "agent") == 0 ||
                        strcmp(argv[1], "alert") == 0);
}

int
admin_main(int argc, char **argv, const char *default_state)
{
    const struct admin_cmd *cmd = NULL;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (argc > 2 && strcmp(argv[1], commands[i].noun) == 0 &&
            strcmp(argv[2], commands[i].verb) == 0)
            cmd = &commands[i];
    if (!cmd)
        sm_usage_error(
            "%s: unknown sub-command (user add|list, agent add|list, alert list|add|delete)",
            argv[1]);
    static const struct option opts[] = {{"state-dir", required_argument, NULL, 's'},
                                         {"db", required_argument, NULL, 'd'},
                                         {"user", required_argument, NULL, 'u'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct admin_opts o = {.state_dir = default_state};
    int ch;
    argc -= 2;
    argv += 2;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 's':
            o.state_dir = optarg;
            break;
        case 'd':
            o.db = optarg;
            break;
        case 'u':
            if (strcmp(cmd->noun, "user") == 0)
                sm_usage_error("--user applies to agent and alert commands only");
            o.user = optarg;
            break;
        case 'h':
            printf("usage: smserver %s\n", cmd->usage);
            return SM_EXIT_OK;
        default:
            sm_usage_error("usage: smserver %s", cmd->usage);
        }
    }
    if (argc - optind != cmd->nargs)
        sm_usage_error("usage: smserver %s", cmd->usage);
    o.args = argv + optind;
    o.nargs = cmd->nargs;
    if (sodium_init() < 0)
        sm_die(SM_EXIT_FAIL, "libsodium failed to initialise");
    char *db = o.db ? sm_xstrdup(o.db) : sm_xasprintf("%s/statusmonitor.db", o.state_dir);
    if (!o.db && mkdir(o.state_dir, 0700) != 0 && errno != EEXIST)
        sm_die(SM_EXIT_FAIL, "%s: %s", o.state_dir, strerror(errno));
    struct store *st = NULL;
    char *cause = NULL;
    enum sm_rc rc = store_open(db, &st, &cause);
    if (rc != SM_OK)
        sm_die(SM_EXIT_FAIL, "%s", cause);
    free(db);
    int ret = cmd->fn(st, &o);
    store_free(st);
    return ret;
}
