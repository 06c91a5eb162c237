/* test_settings.c: smagent's settings: options > environment > config file > the original
 * agent's JSON > defaults; URL, size and token checks. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smagent/settings.h"
#include "tap.h"

static char dir[200], conf[300], legacy[300], tokfile[300];

static void
put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    chmod(path, 0600);
}

static void
clear_env(void)
{
    unsetenv("INGESTION_URL");
    unsetenv("AGENT_TOKEN");
    unsetenv("COLLECTION_INTERVAL");
    unsetenv("INTERVAL");
    unsetenv("STATE_DIRECTORY");
}

/* Resolve with cli; returns the rc and leaves the result in *s (or the cause). */
static enum sm_rc
resolve(const struct settings_cli *cli, struct settings *s, char **cause)
{
    *cause = NULL;
    memset(s, 0, sizeof *s);
    return settings_resolve(cli, 1, s, cause);
}

static void
test_layers(void)
{
    struct settings_cli cli = {.config = conf, .log_level = -1};
    struct settings s;
    char *cause;
    clear_env();
    put(conf, "");
    put(legacy, "{\"server_url\": \"http://legacy:8001\", \"agent_token\": \"legacytok\", "
                "\"interval\": 7, \"other\": true}");
    ok(resolve(&cli, &s, &cause) == SM_OK, "the original agent's JSON alone is enough");
    ok(s.url && strcmp(s.url, "http://legacy:8001/ingest") == 0, "legacy server_url + /ingest (%s)",
       s.url ? s.url : "-");
    ok(s.token && strcmp(s.token, "legacytok") == 0, "legacy agent_token");
    ok(s.interval == 7, "legacy interval");
    ok(s.spool_max == SETTINGS_SPOOL_MAX_DEFAULT, "default spool_max");
    settings_done(&s);

    put(tokfile, "filetok\r\nsecond line\n");
    char text[1024];
    snprintf(text, sizeof text,
             "# comment\nserver = https://conf.example/x/ingest\ninterval = 9\n"
             "token_file = %s\nspool = /tmp/conf-spool\nspool_max = 1M\nlog_level = warn\n",
             tokfile);
    put(conf, text);
    ok(resolve(&cli, &s, &cause) == SM_OK, "config file");
    ok(strcmp(s.url, "https://conf.example/x/ingest") == 0, "config server wins over legacy");
    ok(strcmp(s.token, "filetok") == 0, "config token_file wins; first line, CR dropped");
    ok(s.interval == 9, "config interval wins over legacy");
    ok(strcmp(s.spool, "/tmp/conf-spool") == 0 && s.spool_max == 1024 * 1024, "spool, spool_max");
    ok(s.log_level == 1 /* SM_LOG_WARN */, "log_level warn");
    settings_done(&s);

    setenv("INGESTION_URL", "http://env:1234", 1);
    setenv("AGENT_TOKEN", "envtok", 1);
    setenv("INTERVAL", "11", 1);
    setenv("STATE_DIRECTORY", "/state/a:/state/b", 1);
    ok(resolve(&cli, &s, &cause) == SM_OK, "environment");
    ok(strcmp(s.url, "http://env:1234/ingest") == 0, "INGESTION_URL wins over the config file");
    ok(strcmp(s.token, "envtok") == 0, "AGENT_TOKEN wins over token_file");
    ok(s.interval == 11, "INTERVAL wins over the config file");
    setenv("COLLECTION_INTERVAL", "12", 1);
    settings_done(&s);
    ok(resolve(&cli, &s, &cause) == SM_OK && s.interval == 12,
       "COLLECTION_INTERVAL wins over INTERVAL");
    ok(strcmp(s.spool, "/tmp/conf-spool") == 0, "config spool wins over STATE_DIRECTORY");
    settings_done(&s);

    put(tokfile, "clitok\n");
    struct settings_cli cli2 = {.config = conf,
                                .log_level = 3,
                                .server = "http://cli:1",
                                .token_file = tokfile,
                                .interval = 2,
                                .spool = "/tmp/cli-spool",
                                .spool_max = 65536};
    ok(resolve(&cli2, &s, &cause) == SM_OK, "options");
    ok(strcmp(s.url, "http://cli:1/ingest") == 0, "--server wins over INGESTION_URL");
    ok(strcmp(s.token, "clitok") == 0, "--token-file wins over AGENT_TOKEN");
    ok(s.interval == 2 && s.log_level == 3 && s.spool_max == 65536, "--interval, -v, --spool-max");
    ok(strcmp(s.spool, "/tmp/cli-spool") == 0, "--spool wins");
    settings_done(&s);

    put(conf, "interval = 3\n");
    unlink(legacy);
    clear_env();
    setenv("STATE_DIRECTORY", "/state/a:/state/b", 1);
    ok(resolve(&cli2, &s, &cause) == SM_OK && strcmp(s.spool, "/tmp/cli-spool") == 0,
       "no legacy file");
    settings_done(&s);
    cli2.spool = NULL;
    enum sm_rc rc = resolve(&cli2, &s, &cause);
    ok(rc == SM_OK && strcmp(s.spool, "/state/a/spool") == 0,
       "the first STATE_DIRECTORY holds the spool (%s)", s.spool ? s.spool : "-");
    settings_done(&s);
    clear_env();
}

static void
test_errors(void)
{
    struct settings_cli cli = {.config = conf, .log_level = -1};
    struct settings s;
    char *cause;
    clear_env();
    unlink(legacy);
    put(conf, "server = http://h:1\n# fine\nintervall = 5\n");
    enum sm_rc rc = resolve(&cli, &s, &cause);
    ok(rc != SM_OK && cause && strstr(cause, "smagent.conf:3") && strstr(cause, "intervall"),
       "an unknown key names file, line and key (%s)", cause ? cause : "-");
    free(cause);
    put(conf, "server = http://h:1\n");
    ok(resolve(&cli, &s, &cause) == SM_ENOTFOUND && strstr(cause, "no agent token"),
       "no token is refused");
    free(cause);
    put(conf, "");
    setenv("AGENT_TOKEN", "t", 1);
    ok(resolve(&cli, &s, &cause) == SM_ENOTFOUND && strstr(cause, "no server"),
       "no server is refused");
    free(cause);
    setenv("INGESTION_URL", "gopher://h", 1);
    ok(resolve(&cli, &s, &cause) == SM_EINVAL && strstr(cause, "INGESTION_URL"),
       "a bad INGESTION_URL names the variable");
    free(cause);
    setenv("INGESTION_URL", "http://h", 1);
    setenv("AGENT_TOKEN", "two words", 1);
    ok(resolve(&cli, &s, &cause) == SM_EINVAL && strstr(cause, "AGENT_TOKEN") &&
           !strstr(cause, "two words"),
       "a token with a blank is refused without being shown");
    free(cause);
    setenv("AGENT_TOKEN", "t", 1);
    setenv("COLLECTION_INTERVAL", "0.2", 1);
    ok(resolve(&cli, &s, &cause) == SM_EINVAL && strstr(cause, "COLLECTION_INTERVAL"),
       "a bad interval in the environment names the variable");
    free(cause);
    unsetenv("COLLECTION_INTERVAL");
    put(legacy, "{\"server_url\": ");
    ok(resolve(&cli, &s, &cause) == SM_EPARSE && strstr(cause, "agent_config.json"),
       "a broken legacy file is named");
    free(cause);
    unlink(legacy);
    put(conf, "spool_max = 12\n");
    ok(resolve(&cli, &s, &cause) == SM_EINVAL && strstr(cause, "spool_max"),
       "a spool_max under 64K is refused");
    free(cause);
    struct settings_cli missing = {.config = "/nonexistent/smagent.conf", .log_level = -1};
    ok(resolve(&missing, &s, &cause) == SM_ENOTFOUND, "a named config file must exist");
    free(cause);
    clear_env();
}

static void
test_parsers(void)
{
    static const struct {
        const char *in, *want;
    } urls[] = {
        {"http://h:8001", "http://h:8001/ingest"},
        {"http://h:8001/", "http://h:8001/ingest"},
        {"HTTPS://h/api/ingest", "https://h/api/ingest"},
        {"http://[::1]:8001", "http://[::1]:8001/ingest"},
        {"ftp://h", NULL},
        {"file:///etc/passwd", NULL},
        {"http://user:pw@h:1", NULL},
        {"h:8001", NULL},
        {"http://h :1", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        char *url = NULL, *cause = NULL;
        enum sm_rc rc = settings_ingest_url(urls[i].in, &url, &cause);
        if (urls[i].want)
            ok(rc == SM_OK && strcmp(url, urls[i].want) == 0, "url '%s' -> %s", urls[i].in,
               url ? url : cause);
        else
            ok(rc != SM_OK, "url '%s' refused (%s)", urls[i].in, cause ? cause : "-");
        free(url);
        free(cause);
    }
    static const struct {
        const char *in;
        int ok_;
        uint64_t want;
    } sizes[] = {
        {"65536", 1, 65536},
        {"64K", 1, 65536},
        {"64M", 1, 64ull << 20},
        {"2G", 1, 2ull << 30},
        {"1.5M", 0, 0},
        {"-1", 0, 0},
        {"", 0, 0},
        {"12x", 0, 0},
        {"M", 0, 0},
        {"99999999999G", 0, 0},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint64_t v = 0;
        int r = settings_parse_size(sizes[i].in, &v);
        ok(sizes[i].ok_ ? r == 0 && v == sizes[i].want : r != 0, "size '%s'", sizes[i].in);
    }
}

int
main(void)
{
    snprintf(dir, sizeof dir, "%s/test_settings.%ld", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (long)getpid());
    char sub[240];
    mkdir(dir, 0700);
    snprintf(sub, sizeof sub, "%s/.statusmonitor", dir);
    mkdir(sub, 0700);
    snprintf(conf, sizeof conf, "%s/smagent.conf", dir);
    snprintf(legacy, sizeof legacy, "%s/agent_config.json", sub);
    snprintf(tokfile, sizeof tokfile, "%s/token", dir);
    setenv("HOME", dir, 1);
    test_layers();
    test_errors();
    test_parsers();
    unlink(conf);
    unlink(legacy);
    unlink(tokfile);
    rmdir(sub);
    rmdir(dir);
    return tap_done();
}
