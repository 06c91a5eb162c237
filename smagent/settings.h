/* settings.h: where smagent's settings come from, in order of precedence: command-line
 * options, the environment (INGESTION_URL, AGENT_TOKEN, COLLECTION_INTERVAL, INTERVAL),
 * the configuration file, the original agent's ~/.statusmonitor/agent_config.json, and
 * built-in defaults. Main thread only. */
#ifndef SM_SMAGENT_SETTINGS_H
#define SM_SMAGENT_SETTINGS_H

#include <stdint.h>

#include "rc.h"

#define SETTINGS_INTERVAL_DEFAULT 5.0
#define SETTINGS_SPOOL_MAX_DEFAULT (64ull * 1024 * 1024)
#define SETTINGS_SPOOL_MAX_MIN (64ull * 1024)
#define SETTINGS_TOKEN_MAX 4096
#define SETTINGS_PROCESSES_DEFAULT 10 /* top n by CPU and by RSS in each sample */
#define SETTINGS_PROCESSES_MAX 32     /* 2 x 32 is the server's SM_MAX_PROCS */
/* The other host depth families the agent sends (settings sensors, pressure, cgroups,
 * gpus; all on by default): bits 1 << enum sm_depth_reader of collect/depth.h. */
#define SETTINGS_DEPTH_SENSORS (1u << 1)
#define SETTINGS_DEPTH_PSI (1u << 2)
#define SETTINGS_DEPTH_CGROUPS (1u << 3)
#define SETTINGS_DEPTH_GPUS (1u << 4)

/* What the command line said (borrowed strings; NULL or < 0 when not given). */
struct settings_cli {
    const char *server, *token_file, *spool, *ca_file, *config;
    double interval;    /* 0 when not given */
    uint64_t spool_max; /* 0 when not given */
    int log_level;      /* -1 when not given */
};

/* The resolved settings (owned strings). */
struct settings {
    char *url;    /* the full ingest URL (http or https) */
    char *token;  /* the agent token: secret, never logged */
    char *origin; /* where the token came from, for messages ("file /x", "AGENT_TOKEN") */
    double interval;
    char *spool;
    uint64_t spool_max;
    char *ca_file; /* NULL: the system's CAs */
    int log_level;
    long processes; /* top n processes per sample; 0: none */
    unsigned depth; /* bit 1 << enum sm_depth_reader for each family sent (processes
                     * aside, which follow processes) */
};

/* Resolve every setting. need_server: the server URL and the token are required.
 * On error returns SM_ENOTFOUND when something required or named is missing (no
 * server, no token, no such token or config file: a usage error), else
 * SM_EINVAL/SM_EPARSE/SM_ETOOBIG/SM_EIO, with an allocated *cause
 * naming the source (file and line, variable or option) and leaves out empty. */
enum sm_rc settings_resolve(const struct settings_cli *cli, int need_server, struct settings *out,
                            char **cause) SM_MUST_CHECK;
/* Free the strings (wiping the token). */
void settings_done(struct settings *s);

/* Turn a server given as a base URL (http://host:8001) or a full ingest URL into the
 * ingest URL. Only http and https; no user or password in it. */
enum sm_rc settings_ingest_url(const char *server, char **url, char **cause) SM_MUST_CHECK;
/* Parse a size with an optional K, M or G suffix (powers of 1024). 0 or -1. */
int settings_parse_size(const char *s, uint64_t *out);
/* Read an agent token from the first line of path. */
enum sm_rc settings_read_token(const char *path, char **token, char **cause) SM_MUST_CHECK;

#endif
