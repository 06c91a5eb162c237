/* settings.c: options > environment > configuration file > original agent's JSON > defaults. */
#include "config.h"

#include "settings.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "http_client.h"
#include "json.h"
#include "log.h"
#include "xmalloc.h"

#define DEFAULT_CONFIG SM_SYSCONFDIR "/smagent.conf"
#define LEGACY_CONFIG "/.statusmonitor/agent_config.json"
#define LEGACY_MAX (64 * 1024)

static void
wipe_free(char *s)
{
    if (!s)
        return;
    volatile char *p = s;
    while (*p)
        *p++ = '\0';
    free(s);
}

void
settings_done(struct settings *s)
{
    free(s->url);
    wipe_free(s->token);
    free(s->origin);
    free(s->spool);
    free(s->ca_file);
    memset(s, 0, sizeof *s);
}

int
settings_parse_size(const char *s, uint64_t *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0)
        return -1;
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift)
        end++;
    if (*end != '\0' || v > (UINT64_MAX >> 31))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

enum sm_rc
settings_ingest_url(const char *server, char **url, char **cause)
{
    struct sm_http_url u;
    enum sm_rc rc = sm_http_url_parse(server, &u, cause);
    if (rc != SM_OK)
        return rc;
    /* A bare base URL (no path, or "/") means the server's /ingest; a query stays. */
    size_t pl = strcspn(u.path, "?");
    int bare = pl == 0 || (pl == 1 && u.path[0] == '/');
    int v6 = strchr(u.host, ':') != NULL;
    *url = sm_xasprintf("%s://%s%s%s%s%s%s%s", u.https ? "https" : "http", v6 ? "[" : "", u.host,
                        v6 ? "]" : "", u.port_given ? ":" : "", u.port_given ? u.port : "",
                        bare ? "/ingest" : "", bare ? u.path + pl : u.path);
    sm_http_url_done(&u);
    return SM_OK;
}

/* Check a token: printable ASCII without blanks (it goes into an HTTP header). */
static enum sm_rc
check_token(const char *t, const char *origin, char **cause)
{
    size_t n = strlen(t);
    if (n == 0) {
        *cause = sm_xasprintf("%s: the agent token is empty", origin);
        return SM_EINVAL;
    }
    if (n > SETTINGS_TOKEN_MAX) {
        *cause = sm_xasprintf("%s: the agent token is too long", origin);
        return SM_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (t[i] <= ' ' || t[i] > '~') {
            *cause = sm_xasprintf("%s: the agent token holds a character that is not "
                                  "printable ASCII",
                                  origin);
            return SM_EINVAL;
        }
    }
    return SM_OK;
}

enum sm_rc
settings_read_token(const char *path, char **token, char **cause)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        *cause = sm_xasprintf("token file %s: %s", path, strerror(errno));
        return SM_ENOTFOUND;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077))
        sm_log(SM_LOG_WARN, "token file %s is readable by others (mode %03o); use chmod 600", path,
               (unsigned)(st.st_mode & 0777));
    char buf[SETTINGS_TOKEN_MAX + 2];
    size_t len = 0;
    ssize_t r;
    while (len < sizeof buf - 1 && (r = read(fd, buf + len, sizeof buf - 1 - len)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            *cause = sm_xasprintf("token file %s: %s", path, strerror(errno));
            close(fd);
            return SM_EIO;
        }
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    len = strlen(buf);
    while (len > 0 && (buf[len - 1] == '\r' || buf[len - 1] == ' ' || buf[len - 1] == '\t'))
        buf[--len] = '\0';
    char *origin = sm_xasprintf("token file %s", path);
    enum sm_rc rc = check_token(buf, origin, cause);
    free(origin);
    if (rc == SM_OK)
        *token = sm_xstrdup(buf);
    volatile char *p = buf;
    for (size_t i = 0; i < sizeof buf; i++)
        p[i] = '\0';
    return rc;
}

/* What the configuration file says (owned strings, NULL when absent). */
struct file_conf {
    char *server, *token_file, *spool, *spool_max, *ca_file, *log_level;
    double interval;
    int have_interval;
    long processes;
    int have_processes;
    int sensors, pressure, cgroups, gpus; /* bools, 1 unless the file says no */
};

static void
file_conf_done(struct file_conf *f)
{
    free(f->server);
    free(f->token_file);
    free(f->spool);
    free(f->spool_max);
    free(f->ca_file);
    free(f->log_level);
}

/* The original agent's settings. */
struct legacy_conf {
    char *server_url, *agent_token;
    double interval;
    int have_interval;
};

static enum sm_rc
load_legacy(struct legacy_conf *lc, char **cause)
{
    const char *home = getenv("HOME");
    if (!home || !*home)
        return SM_OK;
    char *path = sm_xasprintf("%s" LEGACY_CONFIG, home);
    enum sm_rc rc = SM_OK;
    char *buf = NULL;
    cJSON *root = NULL;
    FILE *f = fopen(path, "re");
    if (!f)
        goto out; /* absent: nothing to take */
    buf = sm_xmalloc(LEGACY_MAX + 1);
    size_t len = fread(buf, 1, LEGACY_MAX + 1, f);
    fclose(f);
    if (len > LEGACY_MAX) {
        *cause = sm_xasprintf("%s: larger than %d bytes", path, LEGACY_MAX);
        rc = SM_ETOOBIG;
        goto out;
    }
    char *why = NULL;
    if (sm_json_parse(buf, len, 4, &root, &why) != SM_OK || !cJSON_IsObject(root)) {
        *cause = sm_xasprintf("%s: %s", path, why ? why : "must be a JSON object");
        free(why);
        rc = SM_EPARSE;
        goto out;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "server_url");
    if (cJSON_IsString(v) && v->valuestring[0])
        lc->server_url = sm_xstrdup(v->valuestring);
    v = cJSON_GetObjectItemCaseSensitive(root, "agent_token");
    if (cJSON_IsString(v) && v->valuestring[0])
        lc->agent_token = sm_xstrdup(v->valuestring);
    v = cJSON_GetObjectItemCaseSensitive(root, "interval");
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 3600) {
            *cause = sm_xasprintf("%s: interval: must be a number from 1 to 3600", path);
            rc = SM_EINVAL;
            goto out;
        }
        lc->interval = v->valuedouble;
        lc->have_interval = 1;
    }
out:
    if (root) {
        /* The tree holds the token: wipe it before freeing. */
        cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "agent_token");
        if (cJSON_IsString(t)) {
            volatile char *p = t->valuestring;
            while (*p)
                *p++ = '\0';
        }
        cJSON_Delete(root);
    }
    if (buf) {
        volatile char *p = buf;
        for (size_t i = 0; i < LEGACY_MAX + 1; i++)
            p[i] = '\0';
    }
    free(buf);
    free(path);
    return rc;
}

/* An interval from the environment variable name, if set. */
static enum sm_rc
env_interval(const char *name, double *out, int *have, char **cause)
{
    const char *v = getenv(name);
    if (*have || !v || !*v)
        return SM_OK;
    if (sm_parse_double(v, 1, 3600, out) != 0) {
        *cause = sm_xasprintf("%s: '%s' is not a number of seconds from 1 to 3600", name, v);
        return SM_EINVAL;
    }
    *have = 1;
    return SM_OK;
}

enum sm_rc
settings_resolve(const struct settings_cli *cli, int need_server, struct settings *out,
                 char **cause)
{
    struct file_conf fc = {.sensors = 1, .pressure = 1, .cgroups = 1, .gpus = 1};
    struct legacy_conf lc = {0};
    struct settings s = {0};
    enum sm_rc rc;
    const char *conf_path = cli->config ? cli->config : DEFAULT_CONFIG;
    const struct sm_conf_key keys[] = {
        {"server", SM_CONF_STRING, &fc.server, 0, 0, NULL},
        {"token_file", SM_CONF_STRING, &fc.token_file, 0, 0, NULL},
        {"interval", SM_CONF_DOUBLE, &fc.interval, 1, 3600, &fc.have_interval},
        {"spool", SM_CONF_STRING, &fc.spool, 0, 0, NULL},
        {"spool_max", SM_CONF_STRING, &fc.spool_max, 0, 0, NULL},
        {"ca_file", SM_CONF_STRING, &fc.ca_file, 0, 0, NULL},
        {"log_level", SM_CONF_STRING, &fc.log_level, 0, 0, NULL},
        {"processes", SM_CONF_LONG, &fc.processes, 0, SETTINGS_PROCESSES_MAX, &fc.have_processes},
        {"sensors", SM_CONF_BOOL, &fc.sensors, 0, 0, NULL},
        {"pressure", SM_CONF_BOOL, &fc.pressure, 0, 0, NULL},
        {"cgroups", SM_CONF_BOOL, &fc.cgroups, 0, 0, NULL},
        {"gpus", SM_CONF_BOOL, &fc.gpus, 0, 0, NULL},
    };
    rc = sm_conf_load(conf_path, keys, sizeof keys / sizeof keys[0], cause);
    if (rc == SM_ENOTFOUND && !cli->config) {
        free(*cause);
        *cause = NULL;
        rc = SM_OK;
    }
    if (rc != SM_OK)
        goto out;
    if ((rc = load_legacy(&lc, cause)) != SM_OK)
        goto out;

    /* Server. */
    const char *server = cli->server, *server_from = "--server";
    if (!server && getenv("INGESTION_URL") && *getenv("INGESTION_URL")) {
        server = getenv("INGESTION_URL");
        server_from = "INGESTION_URL";
    }
    char *from_buf = NULL;
    if (!server && fc.server && *fc.server) {
        server = fc.server;
        server_from = from_buf = sm_xasprintf("%s: server", conf_path);
    }
    if (!server && lc.server_url) {
        server = lc.server_url;
        server_from = "agent_config.json: server_url";
    }
    if (server) {
        char *why = NULL;
        rc = settings_ingest_url(server, &s.url, &why);
        if (rc != SM_OK)
            *cause = sm_xasprintf("%s: %s", server_from, why);
        free(why);
    } else if (need_server) {
        *cause = sm_xasprintf("no server: give --server, set INGESTION_URL or 'server' in %s",
                              conf_path);
        rc = SM_ENOTFOUND;
    }
    free(from_buf);
    if (rc != SM_OK)
        goto out;

    /* Token: from a file or the environment, never from argv. */
    const char *env_token = getenv("AGENT_TOKEN");
    if (cli->token_file) {
        rc = settings_read_token(cli->token_file, &s.token, cause);
        s.origin = sm_xasprintf("token file %s", cli->token_file);
    } else if (env_token && *env_token) {
        rc = check_token(env_token, "AGENT_TOKEN", cause);
        if (rc == SM_OK)
            s.token = sm_xstrdup(env_token);
        s.origin = sm_xstrdup("AGENT_TOKEN");
    } else if (fc.token_file && *fc.token_file) {
        rc = settings_read_token(fc.token_file, &s.token, cause);
        s.origin = sm_xasprintf("token file %s", fc.token_file);
    } else if (lc.agent_token) {
        rc = check_token(lc.agent_token, "agent_config.json: agent_token", cause);
        if (rc == SM_OK)
            s.token = sm_xstrdup(lc.agent_token);
        s.origin = sm_xstrdup("~" LEGACY_CONFIG);
    } else if (need_server) {
        *cause = sm_xasprintf("no agent token: give --token-file, set AGENT_TOKEN or "
                              "'token_file' in %s",
                              conf_path);
        rc = SM_ENOTFOUND;
    }
    if (rc != SM_OK)
        goto out;

    /* Interval. */
    int have = 0;
    if (cli->interval > 0) {
        s.interval = cli->interval;
        have = 1;
    }
    if ((rc = env_interval("COLLECTION_INTERVAL", &s.interval, &have, cause)) != SM_OK ||
        (rc = env_interval("INTERVAL", &s.interval, &have, cause)) != SM_OK)
        goto out;
    if (!have && fc.have_interval) {
        s.interval = fc.interval;
        have = 1;
    }
    if (!have && lc.have_interval) {
        s.interval = lc.interval;
        have = 1;
    }
    if (!have)
        s.interval = SETTINGS_INTERVAL_DEFAULT;

    /* Spool directory and cap. */
    const char *state = getenv("STATE_DIRECTORY");
    if (cli->spool)
        s.spool = sm_xstrdup(cli->spool);
    else if (fc.spool && *fc.spool)
        s.spool = sm_xstrdup(fc.spool);
    else if (state && *state)
        /* systemd may list several directories, separated by ':'; the first is ours. */
        s.spool = sm_xasprintf("%.*s/spool", (int)strcspn(state, ":"), state);
    else
        s.spool = sm_xstrdup(SM_LOCALSTATEDIR "/spool");
    s.spool_max = SETTINGS_SPOOL_MAX_DEFAULT;
    if (cli->spool_max) {
        s.spool_max = cli->spool_max;
    } else if (fc.spool_max) {
        if (settings_parse_size(fc.spool_max, &s.spool_max) != 0 ||
            s.spool_max < SETTINGS_SPOOL_MAX_MIN) {
            *cause = sm_xasprintf("%s: spool_max: '%s' is not a size of at least 64K", conf_path,
                                  fc.spool_max);
            rc = SM_EINVAL;
            goto out;
        }
    }

    if (cli->ca_file)
        s.ca_file = sm_xstrdup(cli->ca_file);
    else if (fc.ca_file && *fc.ca_file)
        s.ca_file = sm_xstrdup(fc.ca_file);

    s.log_level = SM_LOG_INFO;
    if (cli->log_level >= 0) {
        s.log_level = cli->log_level;
    } else if (fc.log_level) {
        s.log_level = sm_log_parse_level(fc.log_level);
        if (s.log_level < 0) {
            *cause = sm_xasprintf("%s: log_level: '%s' is not error, warn, info or debug",
                                  conf_path, fc.log_level);
            rc = SM_EINVAL;
            goto out;
        }
    }
    s.processes = fc.have_processes ? fc.processes : SETTINGS_PROCESSES_DEFAULT;
    s.depth = (fc.sensors ? SETTINGS_DEPTH_SENSORS : 0) | (fc.pressure ? SETTINGS_DEPTH_PSI : 0) |
              (fc.cgroups ? SETTINGS_DEPTH_CGROUPS : 0) | (fc.gpus ? SETTINGS_DEPTH_GPUS : 0);
    rc = SM_OK;
out:
    file_conf_done(&fc);
    free(lc.server_url);
    wipe_free(lc.agent_token);
    if (rc == SM_OK)
        *out = s;
    else
        settings_done(&s);
    return rc;
}
