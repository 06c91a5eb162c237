/* test_oom.c: allocation-failure testing of the parsers and the storage layer.
 *
 * Project code allocates through sm_xmalloc, which aborts on out-of-memory by design
 * (STYLE 5), so failure can only be injected where a library allocates through hooks:
 *   - cJSON (cJSON_InitHooks): the strict JSON parser (lib/json.c) and the sample and
 *     host decoders (lib/sample_json.c) over the ingest corpus (tests/fuzz/corpus/ingest),
 *     then the sample encoder (lib/sample.c, sm_sample_to_json and printing; this found
 *     that it leaked the items cJSON could not attach);
 *   - SQLite (sqlite3_config(SQLITE_CONFIG_MALLOC)): smserver/store_sqlite.c opening and
 *     migrating a database, adding a user and an agent, a group-committed ingest batch,
 *     a history query, the latest sample and a rollup.
 * For every N, the Nth allocation fails (once); the code must return an error or
 * succeed, never crash; afterwards every allocation made through the hook must have
 * been freed (live count 0: a leak check that works without LeakSanitizer), and the
 * database must pass an integrity check. lib/conf.c and lib/timerange.c allocate only
 * through sm_xmalloc (abort by design): nothing to inject there. */
#include "config.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <sqlite3.h>
#include <time.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "history.h"
#include "json.h"
#include "log.h"
#include "sample.h"
#include "store.h"
#include "tap.h"
#include "xmalloc.h"

/* ------------------------------------------------------------------ counting allocator */

static long n_alloc, fail_at, live, failed;

static int
should_fail(void)
{
    n_alloc++;
    if (fail_at > 0 && n_alloc == fail_at) {
        failed = 1;
        return 1;
    }
    return 0;
}

static void
reset(long at)
{
    n_alloc = 0;
    fail_at = at;
    failed = 0;
}

/* cJSON: plain malloc/free with a live count. */
static void *
cj_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    void *p = malloc(n);
    if (p)
        live++;
    return p;
}

static void
cj_free(void *p)
{
    if (p)
        live--;
    free(p);
}

/* SQLite: a size header in front of each block (xSize needs it). */
#define HDR 16
static void *
sq_malloc(int n)
{
    if (should_fail())
        return NULL;
    char *p = malloc((size_t)n + HDR);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof n);
    live++;
    return p + HDR;
}

static void
sq_free(void *p)
{
    if (!p)
        return;
    live--;
    free((char *)p - HDR);
}

static void *
sq_realloc(void *p, int n)
{
    if (!p)
        return sq_malloc(n);
    if (should_fail())
        return NULL;
    char *q = realloc((char *)p - HDR, (size_t)n + HDR);
    if (!q)
        return NULL;
    memcpy(q, &n, sizeof n);
    return q + HDR;
}

static int
sq_size(void *p)
{
    int n;
    memcpy(&n, (char *)p - HDR, sizeof n);
    return n;
}

static int
sq_roundup(int n)
{
    return (n + 7) & ~7;
}

static int
sq_init(void *arg)
{
    (void)arg;
    return SQLITE_OK;
}

static void
sq_shutdown(void *arg)
{
    (void)arg;
}

/* ------------------------------------------------------------------ cJSON: parsers */

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = sm_xmalloc(1 << 20);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* Parse and decode one ingest body, then encode what was decoded. */
static void
decode_one(const char *buf, size_t len, int encode)
{
    cJSON *root = NULL;
    char *cause = NULL;
    if (sm_json_parse(buf, len, 16, &root, &cause) != SM_OK) {
        free(cause);
        return;
    }
    const cJSON *host = cJSON_GetObjectItemCaseSensitive(root, "host");
    if (cJSON_IsObject(host)) {
        struct sm_host h;
        memset(&h, 0, sizeof h);
        if (sm_host_from_json(host, &h, &cause) != SM_OK)
            free(cause);
        cause = NULL;
    }
    const cJSON *samples = cJSON_GetObjectItemCaseSensitive(root, "samples");
    const cJSON *one = cJSON_IsArray(samples) ? samples->child : root;
    for (; one; one = cJSON_IsArray(samples) ? one->next : NULL) {
        struct sm_sample s;
        sm_sample_init(&s);
        if (sm_sample_from_json(one, (double)time(NULL), &s, &cause) == SM_OK) {
            if (encode) {
                cJSON *o = sm_sample_to_json(&s);
                char *text = o ? cJSON_PrintUnformatted(o) : NULL;
                cJSON_Delete(o);
                cJSON_free(text);
            }
        } else {
            free(cause);
        }
        cause = NULL;
        sm_sample_done(&s);
    }
    cJSON_Delete(root);
}

static void
test_cjson(const char *dir)
{
    DIR *d = opendir(dir);
    if (!ok(d != NULL, "corpus %s opens", dir))
        return;
    struct dirent *e;
    cJSON_Hooks hooks = {cj_malloc, cj_free};
    cJSON_InitHooks(&hooks);
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *path = sm_xasprintf("%s/%s", dir, e->d_name);
        size_t len;
        char *buf = slurp(path, &len);
        for (int encode = 0; encode <= 1 && buf; encode++) {
            long total = 0, leaky = 0, first_leak = 0;
            for (long n = 1;; n++) {
                reset(n);
                live = 0;
                decode_one(buf, len, encode);
                if (live != 0) {
                    leaky++;
                    if (!first_leak)
                        first_leak = n;
                }
                if (!failed) {
                    total = n - 1;
                    break;
                }
            }
            ok(leaky == 0,
               "%s: %s, each of %ld allocations failed in turn: no crash, no leak "
               "(leaking runs %ld, first at %ld)",
               e->d_name, encode ? "parse+decode+encode" : "parse+decode", total, leaky,
               first_leak);
        }
        free(buf);
        free(path);
    }
    closedir(d);
    cJSON_InitHooks(NULL);
    reset(0);
}

/* ------------------------------------------------------------------ SQLite: the store */

static void
remove_db(const char *path)
{
    char *p;
    unlink(path);
    p = sm_xasprintf("%s-wal", path);
    unlink(p);
    free(p);
    p = sm_xasprintf("%s-shm", path);
    unlink(p);
    free(p);
}

/* One pass of the store's life. Returns how far it got (for the report). */
static int
store_scenario(const char *path)
{
    struct store *st = NULL;
    char *cause = NULL;
    int steps = 0;
    if (store_open(path, &st, &cause) != SM_OK) {
        if (!failed)
            diag("store_open: %s", cause ? cause : "?");
        free(cause);
        return steps;
    }
    steps++;
    struct store_user u;
    struct store_agent a;
    uint8_t hash[STORE_HASH_LEN] = {1, 2, 3};
    memset(&a, 0, sizeof a);
    if (store_user_add(st, "oom", "$argon2id$x", 1764064800, &u) != SM_OK)
        goto out;
    steps++;
    if (store_agent_add(st, u.id, "a1", hash, 1764064800, &a) != SM_OK)
        goto out;
    steps++;
    struct store_point pts[3] = {
        {"cpu.usage", "", 12.5}, {"cpu.core.usage", "core=0", 10}, {"mem.used_percent", "", 40}};
    struct store_sample ss[2] = {{1764064790000, 3, pts}, {1764064791000, 3, pts}};
    struct store_batch b = {.agent_id = a.id,
                            .now = 1764064800,
                            .host_json = "{\"hostname\":\"h\"}",
                            .latest_json = "{\"timestamp\":1764064791}",
                            .latest_ts_ms = 1764064791000,
                            .nsamples = 2,
                            .samples = ss};
    size_t stored = 0, dups = 0;
    if (store_begin(st) != SM_OK)
        goto out;
    if (store_batch_write(st, &b, &stored, &dups, &cause) != SM_OK) {
        free(cause);
        cause = NULL;
        store_rollback(st);
        goto out;
    }
    if (store_commit(st) != SM_OK)
        goto out;
    steps++;
    struct history_result hr;
    memset(&hr, 0, sizeof hr);
    if (store_history_query(st, a.id, "cpu.usage", "", 1764064700000, 1764064800000, 10, &hr) ==
        SM_OK)
        steps++;
    history_result_done(&hr);
    char *latest = NULL;
    if (store_latest(st, a.id, &latest) == SM_OK)
        steps++;
    free(latest);
    size_t work = 0;
    if (store_rollup(st, 1764064800000 + 3600000, 64, &work) == SM_OK)
        steps++;
out:
    store_agent_done(&a);
    store_free(st);
    return steps;
}

static void
test_store(void)
{
    reset(0);
    static struct sqlite3_mem_methods mm = {sq_malloc,  sq_free, sq_realloc,  sq_size,
                                            sq_roundup, sq_init, sq_shutdown, NULL};
    int rc = sqlite3_config(SQLITE_CONFIG_MALLOC, &mm);
    if (!ok(rc == SQLITE_OK, "sqlite3_config(SQLITE_CONFIG_MALLOC) before first use"))
        return;
    sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 0, 0); /* every allocation through the hook */
    const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    char *dir = sm_xasprintf("%s/smoom.XXXXXX", tmp);
    if (!ok(mkdtemp(dir) != NULL, "temporary directory"))
        return;
    char *path = sm_xasprintf("%s/oom.db", dir);
    if (sqlite3_initialize() != SQLITE_OK)
        abort();
    long base_live = live; /* SQLite's own start-up allocations stay until shutdown */
    long total = 0, leaky = 0, corrupt = 0, first_leak = 0;
    int full = 0;
    for (long n = 1;; n++) {
        remove_db(path);
        reset(n);
        int steps = store_scenario(path);
        int injected = failed;
        reset(0);
        if (live != base_live) {
            leaky++;
            if (!first_leak)
                first_leak = n;
            base_live = live;
        }
        /* Whatever was committed must be a sound database. */
        struct store *st = NULL;
        char *cause = NULL;
        if (access(path, F_OK) == 0) {
            if (store_open(path, &st, &cause) != SM_OK || store_check(st, &cause) != SM_OK) {
                corrupt++;
                diag("allocation %ld: database unusable afterwards: %s", n, cause ? cause : "?");
            }
            free(cause);
            store_free(st);
        }
        if (!injected) {
            total = n - 1;
            full = steps;
            break;
        }
    }
    ok(full == 7, "the scenario completes without failures (%d of 7 steps)", full);
    ok(leaky == 0,
       "store: each of %ld SQLite allocations failed in turn: no crash, no leak "
       "(leaking runs %ld, first at %ld)",
       total, leaky, first_leak);
    ok(corrupt == 0, "store: the database passes integrity_check after every run");
    remove_db(path);
    rmdir(dir);
    free(path);
    free(dir);
    sqlite3_shutdown();
}

int
main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    sm_log_set_level(SM_LOG_ERROR); /* not a migration line per run */
    const char *src = getenv("top_srcdir");
    char *dir = sm_xasprintf("%s/tests/fuzz/corpus/ingest", src ? src : ".");
    test_cjson(dir);
    free(dir);
    test_store();
    return tap_done();
}
