/* main.c: smserver entry point: options (docs/DESIGN.md section 9), configuration file, admin
 * sub-commands, then the server. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libwebsockets.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"
#include "migrate.h"
#include "cli.h"
#include "conf.h"
#include "log.h"
#include "netaddr.h"
#include "server.h"
#include "store.h"
#include "tls.h"
#include "xmalloc.h"

#define DEFAULT_LISTEN "0.0.0.0:8001"
#define DEFAULT_CONFIG SM_SYSCONFDIR "/smserver.conf"
#define DEFAULT_WWW SM_DATADIR "/www"
#ifndef SM_SRCDIR
#define SM_SRCDIR "."
#endif
/* Running from the build tree (not installed): the page is in the source tree. */
#define SRCTREE_WWW SM_SRCDIR "/share/www"

static void
usage(void)
{
    printf("usage: smserver [--listen ADDR:PORT] [--state-dir DIR] [--db PATH] [--www DIR]\n"
           "                [--config FILE] [--port-file FILE] [--log-level LEVEL]\n"
           "                [--tls-cert FILE --tls-key FILE]\n"
           "       smserver user add NAME [--state-dir DIR | --db PATH]   (password on stdin)\n"
           "       smserver user list [--state-dir DIR | --db PATH]\n"
           "       smserver agent add --user NAME AGENTNAME [--state-dir DIR | --db PATH]\n"
           "       smserver agent list [--user NAME] [--state-dir DIR | --db PATH]\n"
           "       smserver alert list [--user NAME] [--state-dir DIR | --db PATH]\n"
           "       smserver alert add --user NAME [--state-dir DIR | --db PATH]   (rule JSON on "
           "stdin)\n"
           "       smserver alert delete --user NAME ID [--state-dir DIR | --db PATH]\n"
           "       smserver migrate --from PATH.db --to POSTGRESQL [--batch SAMPLES]\n"
           "\n"
           "Store and serve the samples of smagent: the REST API, the web page and the\n"
           "database, on one port.\n"
           "\n"
           "  -l, --listen ADDR:PORT  address and port to listen on (default " DEFAULT_LISTEN ");\n"
           "                          port 0 picks a free port\n"
           "  -s, --state-dir DIR     state directory, created 0700 (default " SM_LOCALSTATEDIR
           ")\n"
           "  -d, --db PATH           database file (default STATE-DIR/statusmonitor.db)\n"
           "  -w, --www DIR           web page directory (default " DEFAULT_WWW ";\n"
           "                          from the build tree: the source tree's share/www)\n"
           "  -c, --config FILE       configuration file (default " DEFAULT_CONFIG ")\n"
           "  -p, --port-file FILE    write the port listened on to FILE\n"
           "  -v, --log-level LEVEL   error, warn, info or debug (default info)\n"
           "      --tls-cert FILE     serve HTTPS and WSS with this PEM certificate (chain)\n"
           "      --tls-key FILE      and this PEM private key (mode 0600 or stricter);\n"
           "                          SIGHUP loads both again\n"
           "  -h, --help              show this help and exit\n"
           "  -V, --version           show the version and exit\n"
           "\n"
           "Environment: SECRET_KEY (token signing key, at least 32 bytes; default: a\n"
           "random key kept in STATE-DIR/secret.key), ACCESS_TOKEN_EXPIRE_MINUTES (30),\n"
           "REFRESH_TOKEN_EXPIRE_DAYS (7).\n");
}

/* Split "ADDR:PORT" (or "[v6]:PORT") into cfg. */
static int
parse_listen(const char *s, struct server_config *cfg)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s)
        return -1;
    const char *a = s, *ae = colon;
    if (*a == '[') {
        if (ae[-1] != ']')
            return -1;
        a++;
        ae--;
    }
    if ((size_t)(ae - a) >= sizeof cfg->listen_addr || ae == a)
        return -1;
    long port;
    if (sm_parse_long(colon + 1, 0, 65535, &port) != 0)
        return -1;
    memcpy(cfg->listen_addr, a, (size_t)(ae - a));
    cfg->listen_addr[ae - a] = '\0';
    cfg->port = (int)port;
    return 0;
}

static int
dir_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The process snapshot settings of the configuration file (NULL: the default); a bad
 * value stops the start with a usage error that names the key. */
static void
procs_settings(const char *file, const char *hours, const char *mb, struct server_config *cfg)
{
    double h = PROCS_RETENTION_HOURS_DEFAULT, m = PROCS_MAX_MB_DEFAULT;
    if (hours && sm_parse_double(hours, 1, PROCS_RETENTION_HOURS_MAX, &h) != 0)
        sm_die(SM_EXIT_USAGE,
               "%s: process_snapshots_retention_hours: %s: must be a number of hours"
               " from 1 to %d",
               file, hours, PROCS_RETENTION_HOURS_MAX);
    if (mb && sm_parse_double(mb, 0, PROCS_MAX_MB_MAX, &m) != 0)
        sm_die(SM_EXIT_USAGE,
               "%s: process_snapshots_max_mb: %s: must be a number of MiB from 0"
               " (no snapshots) to %d",
               file, mb, PROCS_MAX_MB_MAX);
    cfg->procs_keep_s = (int64_t)(h * 3600);
    cfg->procs_max_bytes = (int64_t)(m * 1048576);
}

int
main(int argc, char **argv)
{
    sm_log_init(argv[0]);
    umask(077);   /* the database, its WAL and the secret are private */
    store_init(); /* before any other database call */
    /* libpq waits for a PostgreSQL connection as long as the network lets it (minutes
     * when packets to the host are dropped or its server hangs), and the ingest writer
     * makes a lost connection again inline (pq_reconnect): bound every connection attempt,
     * unless the environment or the string's connect_timeout says otherwise. */
    setenv("PGCONNECT_TIMEOUT", "5", 0);
    if (admin_is_command(argc, argv))
        return admin_main(argc, argv, SM_LOCALSTATEDIR);
    if (argc > 1 && strcmp(argv[1], "migrate") == 0)
        return migrate_main(argc - 1, argv + 1);

    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},    {"state-dir", required_argument, NULL, 's'},
        {"db", required_argument, NULL, 'd'},        {"www", required_argument, NULL, 'w'},
        {"config", required_argument, NULL, 'c'},    {"port-file", required_argument, NULL, 'p'},
        {"log-level", required_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},         {"tls-cert", required_argument, NULL, 'C'},
        {"tls-key", required_argument, NULL, 'K'},   {NULL, 0, NULL, 0}};
    const char *listen = NULL, *state = NULL, *db = NULL, *www = NULL, *config = NULL;
    const char *port_file = NULL, *level = NULL, *tls_cert = NULL, *tls_key = NULL;
    int ch;
    opterr = 0; /* sm_usage_bad_option says what was wrong, as smagent and smtop do */
    while ((ch = getopt_long(argc, argv, ":l:s:d:w:c:p:v:hV", opts, NULL)) != -1) {
        switch (ch) {
        case 'l':
            listen = optarg;
            break;
        case 's':
            state = optarg;
            break;
        case 'd':
            db = optarg;
            break;
        case 'w':
            www = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'p':
            port_file = optarg;
            break;
        case 'v':
            level = optarg;
            break;
        case 'C':
            tls_cert = optarg;
            break;
        case 'K':
            tls_key = optarg;
            break;
        case 'h':
            usage();
            return SM_EXIT_OK;
        case 'V':
            sm_print_version();
        default:
            sm_usage_bad_option(ch, argv);
        }
    }
    sm_usage_no_operands(argc, argv);

    /* The configuration file fills what the command line left unset. */
    char *c_listen = NULL, *c_state = NULL, *c_db = NULL, *c_www = NULL, *c_level = NULL;
    char *c_origins = NULL, *c_metrics_token = NULL, *c_telegram = NULL, *c_allow = NULL;
    char *c_tls_cert = NULL, *c_tls_key = NULL, *c_database = NULL, *c_proxies = NULL;
    char *c_procs_hours = NULL, *c_procs_mb = NULL;
    int metrics_agent_series = 0;
    double raw_days = 7, minute_days = 90, hour_days = 730;
    const struct sm_conf_key keys[] = {
        {"ws_origins", SM_CONF_STRING, &c_origins, 0, 0, NULL},
        {"retain_raw_days", SM_CONF_DOUBLE, &raw_days, 1, 3650, NULL},
        {"retain_minute_days", SM_CONF_DOUBLE, &minute_days, 1, 3650, NULL},
        {"retain_hour_days", SM_CONF_DOUBLE, &hour_days, 1, 36500, NULL},
        {"listen", SM_CONF_STRING, &c_listen, 0, 0, NULL},
        {"state_dir", SM_CONF_STRING, &c_state, 0, 0, NULL},
        {"db", SM_CONF_STRING, &c_db, 0, 0, NULL},
        {"database", SM_CONF_STRING, &c_database, 0, 0, NULL},
        {"www", SM_CONF_STRING, &c_www, 0, 0, NULL},
        {"log_level", SM_CONF_STRING, &c_level, 0, 0, NULL},
        {"metrics_agent_series", SM_CONF_BOOL, &metrics_agent_series, 0, 0, NULL},
        {"metrics_token_file", SM_CONF_STRING, &c_metrics_token, 0, 0, NULL},
        {"telegram_api_base", SM_CONF_STRING, &c_telegram, 0, 0, NULL},
        {"webhook_allow_private", SM_CONF_STRING, &c_allow, 0, 0, NULL},
        {"trusted_proxies", SM_CONF_STRING, &c_proxies, 0, 0, NULL},
        {"tls_cert", SM_CONF_STRING, &c_tls_cert, 0, 0, NULL},
        {"tls_key", SM_CONF_STRING, &c_tls_key, 0, 0, NULL},
        {"process_snapshots_retention_hours", SM_CONF_STRING, &c_procs_hours, 0, 0, NULL},
        {"process_snapshots_max_mb", SM_CONF_STRING, &c_procs_mb, 0, 0, NULL},
    };
    char *cause = NULL;
    enum sm_rc rc =
        sm_conf_load(config ? config : DEFAULT_CONFIG, keys, sizeof keys / sizeof keys[0], &cause);
    /* The default file may be absent; a named one must exist. */
    if (rc != SM_OK && !(rc == SM_ENOTFOUND && !config))
        sm_die(SM_EXIT_FAIL, "%s", cause);
    free(cause);
    /* "database" is the name issue 21 and the PostgreSQL section use; "db" matches --db.
     * They are one setting: both in one file is an error, not a silent choice. */
    if (c_db && c_database)
        sm_die(SM_EXIT_FAIL, "%s: db and database are the same setting: give one",
               config ? config : DEFAULT_CONFIG);
    if (c_database)
        c_db = c_database;
    if (!listen)
        listen = c_listen ? c_listen : DEFAULT_LISTEN;
    if (!state)
        state = c_state ? c_state : SM_LOCALSTATEDIR;
    if (!db)
        db = c_db;
    if (!level)
        level = c_level ? c_level : "info";
    if (!tls_cert && c_tls_cert && *c_tls_cert)
        tls_cert = c_tls_cert;
    if (!tls_key && c_tls_key && *c_tls_key)
        tls_key = c_tls_key;

    struct server_config cfg;
    memset(&cfg, 0, sizeof cfg);
    if (parse_listen(listen, &cfg) != 0)
        sm_usage_error("--listen: %s: expected ADDR:PORT (port 0 to 65535)", listen);
    int lv = sm_log_parse_level(level);
    if (lv < 0)
        sm_usage_error("--log-level: %s: expected error, warn, info or debug", level);
    sm_log_set_level((enum sm_log_level)lv);
    /* libwebsockets' own info/debug output may quote request headers: never enable it. */
    cfg.lws_log_level = LLL_ERR | (lv >= SM_LOG_WARN ? LLL_WARN : 0);

    if (mkdir(state, 0700) != 0 && errno != EEXIST)
        sm_die(SM_EXIT_FAIL, "%s: %s", state, strerror(errno));
    if (!dir_exists(state))
        sm_die(SM_EXIT_FAIL, "%s: not a directory", state);
    char *db_path = db ? sm_xstrdup(db) : sm_xasprintf("%s/statusmonitor.db", state);
    if (!www)
        www = c_www ? c_www : dir_exists(DEFAULT_WWW) ? DEFAULT_WWW : SRCTREE_WWW;
    cfg.state_dir = state;
    cfg.db_path = db_path;
    cfg.www_dir = www;
    cfg.port_file = port_file;
    cfg.ws_origins = c_origins;
    cfg.retain_raw_s = raw_days * 86400;
    cfg.retain_minute_s = minute_days * 86400;
    cfg.retain_hour_s = hour_days * 86400;
    cfg.metrics_agent_series = metrics_agent_series;
    procs_settings(config ? config : DEFAULT_CONFIG, c_procs_hours, c_procs_mb, &cfg);
    free(c_procs_hours);
    free(c_procs_mb);
    cfg.metrics_token_file = c_metrics_token && c_metrics_token[0] ? c_metrics_token : NULL;
    if (c_telegram && strncmp(c_telegram, "http://", 7) != 0 &&
        strncmp(c_telegram, "https://", 8) != 0)
        sm_die(SM_EXIT_FAIL, "telegram_api_base: %s: must start with http:// or https://",
               c_telegram);
    cfg.telegram_api_base = c_telegram ? c_telegram : "https://api.telegram.org";
    struct sm_netallow allow;
    cause = NULL;
    if (sm_netallow_parse(c_allow ? c_allow : "no", &allow, &cause) != SM_OK)
        sm_die(SM_EXIT_USAGE, "%s: webhook_allow_private: %s", config ? config : DEFAULT_CONFIG,
               cause);
    free(c_allow);
    cfg.webhook_allow = &allow;
    /* A list, never "yes": believing every peer's X-Forwarded-For lets any client pick
     * the address the login limiter and the /metrics loopback rule see. */
    struct sm_netallow proxies;
    if (c_proxies && *c_proxies) {
        cause = NULL;
        if (sm_netallow_parse(c_proxies, &proxies, &cause) != SM_OK ||
            (proxies.all && (cause = sm_xstrdup("list the balancers' addresses, not yes"))))
            sm_die(SM_EXIT_USAGE, "%s: trusted_proxies: %s", config ? config : DEFAULT_CONFIG,
                   cause);
        if (proxies.n)
            cfg.trusted_proxies = &proxies;
    }
    free(c_proxies);
    if (!tls_cert != !tls_key)
        sm_usage_error("%s: TLS needs both a certificate and a key (--tls-cert, --tls-key)",
                       tls_cert ? "--tls-key missing" : "--tls-cert missing");
    if (tls_cert) {
        char *why = NULL;
        if (tls_check(tls_cert, tls_key, &why) != 0)
            sm_die(SM_EXIT_USAGE, "%s", why);
        cfg.tls_cert = tls_cert;
        cfg.tls_key = tls_key;
    }
    int ret = server_run(&cfg);
    free(c_origins);
    free(c_metrics_token);
    free(c_telegram);
    free(c_tls_cert);
    free(c_tls_key);
    free(db_path);
    free(c_listen);
    free(c_state);
    free(c_db);
    free(c_www);
    free(c_level);
    return ret;
}
