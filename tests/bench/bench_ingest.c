/* bench_ingest.c: durable ingest rate of a real smserver, beside a raw SQLite baseline.
 *
 *   bench_ingest client URL[,URL...] TOKEN[,TOKEN...] [CLIENTS [BATCH [SECONDS]]]
 *       CLIENTS threads, each on one keep-alive connection, POST batches of BATCH
 *       realistic 8-core samples to URL/ingest for SECONDS; prints acknowledged
 *       (= committed) samples per second. With lists, client i posts to URL number
 *       i mod (number of URLs) as the agent of TOKEN number i mod (number of tokens):
 *       one load split across several instances, several agents.
 *   bench_ingest raw NEWDB SERVERDB [BATCH [SECONDS]]
 *       the same rows straight into SQLite (same pragmas, same table, prepared
 *       statements, one transaction per batch): one samples row per sample whose blob
 *       of packed points is a copy of one SERVERDB stored (so the same size); prints
 *       samples per second.
 * Output lines are "NAME samples_per_s N" for the script that compares them. */
#include "config.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "clock.h"
#include "xmalloc.h"

struct client {
    pthread_t thread;
    const char *url;
    const char *token;
    int id, batch;
    double seconds;
    long acked, errors;
};

/* One realistic 8-core sample at timestamp ts, in this project's shape. */
/* With BENCH_PROCS set, each sample also carries 10 processes, as smagent sends them. */
static int with_procs;

static int
sample_json(char *out, size_t outsz, double ts, unsigned k)
{
    double u = (double)(k % 100);
    int n = snprintf(
        out, outsz,
        "{\"timestamp\":%.3f,\"seq\":%u,"
        "\"cpu\":{\"usage_percent\":%.1f,\"user\":8.0,\"system\":3.1,\"iowait\":0.4,\"steal\":0.0,"
        "\"per_core_usage\":[%.1f,15.0,12.5,3.0,99.5,0.0,45.5,7.25],"
        "\"per_core_freq\":[3600,2400,2400,3100,4500,800,2000,2200],"
        "\"freq\":{\"current\":3000,\"min\":800,\"max\":4500},\"load_avg\":[0.5,0.4,0.3]},"
        "\"memory\":{\"total\":16777216000,\"available\":8388608000,\"used\":8388608000,"
        "\"used_percent\":50.0,\"swap_total\":2147483648,\"swap_used\":1048576},"
        "\"disk\":{\"partitions\":[{\"device\":\"/dev/vda1\",\"mountpoint\":\"/"
        "\",\"fstype\":\"ext4\","
        "\"total\":100000000000,\"used\":40000000000,\"free\":60000000000,\"percent\":40.0},"
        "{\"device\":\"/dev/vdb1\",\"mountpoint\":\"/"
        "srv\",\"fstype\":\"xfs\",\"total\":500000000000,"
        "\"used\":100000000000,\"free\":400000000000,\"percent\":20.0}],"
        "\"io\":{\"read_bytes_per_s\":1048576,\"write_bytes_per_s\":524288},"
        "\"devices\":[{\"name\":\"vda\",\"read_bytes_per_s\":1048576,\"write_bytes_per_s\":524288,"
        "\"busy_percent\":12.5},{\"name\":\"vdb\",\"read_bytes_per_s\":0,\"write_bytes_per_s\":0,"
        "\"busy_percent\":0.0}]},"
        "\"network\":{\"bytes_sent\":123456789,\"bytes_recv\":987654321,\"packets_sent\":1000,"
        "\"packets_recv\":2000,\"interfaces\":[{\"name\":\"eth0\",\"rx_bytes_per_s\":125000,"
        "\"tx_bytes_per_s\":64000},{\"name\":\"eth1\",\"rx_bytes_per_s\":0,\"tx_bytes_per_s\":0},"
        "{\"name\":\"lo\",\"rx_bytes_per_s\":100,\"tx_bytes_per_s\":100}]}%s",
        ts, k, u, u, with_procs ? "," : "}");
    if (n < 0 || (size_t)n >= outsz || !with_procs)
        return n;
    /* The agent's default host depth: 10 processes (top 10 by CPU and by RSS overlap). */
    size_t o = (size_t)n;
    o += (size_t)snprintf(out + o, outsz - o, "\"processes\":[");
    for (int i = 0; i < 10 && o < outsz; i++)
        o += (size_t)snprintf(out + o, outsz - o,
                              "%s{\"pid\":%d,\"ppid\":1,\"user\":\"www-data\",\"state\":\"S\","
                              "\"name\":\"worker%d\",\"cmdline\":\"/usr/sbin/worker%d --config "
                              "/etc/worker/worker.conf --threads 4 --listen 0.0.0.0:80%02d\","
                              "\"cpu_percent\":%.2f,\"rss_bytes\":%d,\"threads\":4,"
                              "\"start_time\":1764000000.25}",
                              i ? "," : "", 1000 + i, i, i, i, 10.0 - i, (i + 1) * 1048576);
    if (o < outsz)
        o += (size_t)snprintf(out + o, outsz - o, "]}");
    return (int)o;
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

static void *
client_main(void *arg)
{
    struct client *c = arg;
    CURL *curl = curl_easy_init();
    size_t cap = (size_t)c->batch * 6144 + 64;
    char *body = sm_xmalloc(cap);
    char *url = sm_xasprintf("%s/ingest", c->url);
    char *hdr = sm_xasprintf("X-Agent-Token: %s", c->token);
    struct curl_slist *hl = curl_slist_append(NULL, hdr);
    hl = curl_slist_append(hl, "Content-Type: application/json");
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    /* Each client owns a range of past timestamps: 1 ms apart, never reused, 5.5 hours
     * apart between clients, within the last 6 days: inside the default raw retention
     * (7 days), so that retention does not drop the day partitions a PostgreSQL server
     * writes into (at its first maintenance round) nor delete what SQLite stores. */
    double base = (double)time(NULL) - 6 * 86400.0 + c->id * 20000.0;
    unsigned k = 0;
    /* The body is built once; each request only rewrites the timestamps in place (they
     * are fixed width), so the client spends its CPU on HTTP, not on formatting. */
    size_t *ts_off = sm_xcalloc((size_t)c->batch, sizeof *ts_off);
    size_t len = 0;
    len +=
        (size_t)snprintf(body + len, cap - len,
                         "{\"host\":{\"hostname\":\"bench%d\",\"cores\":8},\"samples\":[", c->id);
    for (int i = 0; i < c->batch; i++) {
        if (i)
            body[len++] = ',';
        ts_off[i] = len + strlen("{\"timestamp\":");
        len += (size_t)sample_json(body + len, cap - len, base, (unsigned)i);
    }
    len += (size_t)snprintf(body + len, cap - len, "]}");
    double end = sm_mono_now() + c->seconds;
    while (sm_mono_now() < end) {
        for (int i = 0; i < c->batch; i++, k++) {
            char ts[32];
            int n = snprintf(ts, sizeof ts, "%.3f", base + k * 0.001);
            memcpy(body + ts_off[i], ts, (size_t)n); /* same width: 10 digits, 3 decimals */
        }
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)len);
        long code = 0;
        if (curl_easy_perform(curl) == CURLE_OK &&
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200)
            c->acked += c->batch;
        else
            c->errors++;
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(curl);
    free(ts_off);
    free(body);
    free(url);
    free(hdr);
    return NULL;
}

/* Splits the comma-separated list s in place into at most max items; returns their
 * number. */
static int
split_list(char *s, char **items, int max)
{
    int n = 0;
    for (char *p = s; n < max; p++) {
        items[n++] = p;
        p = strchr(p, ',');
        if (p == NULL)
            break;
        *p = '\0';
    }
    return n;
}

static int
run_clients(char *urls, char *tokens, int n, int batch, double seconds)
{
    char *url[64], *token[64];
    int nurl = split_list(urls, url, 64), ntoken = split_list(tokens, token, 64);
    struct client *cs = sm_xcalloc((size_t)n, sizeof *cs);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    double t0 = sm_mono_now();
    for (int i = 0; i < n; i++) {
        cs[i] = (struct client){.url = url[i % nurl],
                                .token = token[i % ntoken],
                                .id = i,
                                .batch = batch,
                                .seconds = seconds};
        if (pthread_create(&cs[i].thread, NULL, client_main, &cs[i]) != 0)
            sm_die(1, "pthread_create failed");
    }
    long acked = 0, errors = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(cs[i].thread, NULL);
        acked += cs[i].acked;
        errors += cs[i].errors;
    }
    double dt = sm_mono_now() - t0;
    printf("server clients %d urls %d agents %d batch %d acked %ld errors %ld seconds %.2f\n", n,
           nurl, ntoken, batch, acked, errors, dt);
    printf("server samples_per_s %.0f\n", (double)acked / dt);
    curl_global_cleanup();
    free(cs);
    return errors ? 1 : 0;
}

static void
exec_or_die(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        sm_die(1, "sqlite: %s: %s", sql, err ? err : "?");
}

/* The point count of a point blob (smserver/history.h: version byte, varint count). */
static long
blob_count(const unsigned char *b, int len)
{
    long n = 0;
    for (int i = 1, shift = 0; i < len && i < 6; i++, shift += 7) {
        n |= (long)(b[i] & 0x7f) << shift;
        if (!(b[i] & 0x80))
            return n;
    }
    return -1;
}

static int
run_raw(const char *path, const char *like, int batch, double seconds)
{
    sqlite3 *db;
    /* A stored sample's blob; without one, 55 points: ids 1.., 8-byte values. */
    unsigned char blob[65536];
    int blen = 0;
    if (sqlite3_open_v2(like, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(db, "SELECT data FROM samples ORDER BY length(data) DESC LIMIT 1",
                               -1, &s, NULL) == SQLITE_OK &&
            sqlite3_step(s) == SQLITE_ROW && sqlite3_column_bytes(s, 0) > 2 &&
            sqlite3_column_bytes(s, 0) <= (int)sizeof blob) {
            blen = sqlite3_column_bytes(s, 0);
            memcpy(blob, sqlite3_column_blob(s, 0), (size_t)blen);
        }
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
    if (blen == 0) {
        blob[blen++] = 1;
        blob[blen++] = 55;
        for (int i = 0; i < 55; i++) {
            blob[blen++] = 1;
            memset(blob + blen, 0, 8);
            blen += 8;
        }
    }
    long points = blob_count(blob, blen);
    remove(path);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        sm_die(1, "%s: cannot open", path);
    /* The pragmas and the samples table of smserver/store_sqlite.c (schema 4). */
    exec_or_die(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                    " PRAGMA foreign_keys = ON; PRAGMA journal_size_limit = 67108864;"
                    " PRAGMA temp_store = MEMORY;"
                    "CREATE TABLE samples(agent_id INTEGER NOT NULL, ts INTEGER NOT NULL,"
                    " data BLOB NOT NULL DEFAULT x'0100', PRIMARY KEY(agent_id, ts))"
                    " WITHOUT ROWID;");
    sqlite3_stmt *ins_s, *begin, *commit;
    if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO samples VALUES (?1, ?2, ?3)", -1, &ins_s,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "COMMIT", -1, &commit, NULL) != SQLITE_OK)
        sm_die(1, "sqlite: prepare failed");
    long done = 0;
    int64_t ts = (int64_t)time(NULL) * 1000 - 40LL * 86400000;
    double t0 = sm_mono_now(), end = t0 + seconds;
    while (sm_mono_now() < end) {
        sqlite3_step(begin);
        sqlite3_reset(begin);
        for (int i = 0; i < batch; i++, ts++) {
            sqlite3_bind_int64(ins_s, 1, 1);
            sqlite3_bind_int64(ins_s, 2, ts);
            sqlite3_bind_blob(ins_s, 3, blob, blen, SQLITE_STATIC);
            sqlite3_step(ins_s);
            sqlite3_reset(ins_s);
        }
        if (sqlite3_step(commit) != SQLITE_DONE)
            sm_die(1, "sqlite: commit failed");
        sqlite3_reset(commit);
        done += batch;
    }
    double dt = sm_mono_now() - t0;
    printf("raw points_per_sample %ld blob_bytes %d batch %d samples %ld seconds %.2f\n", points,
           blen, batch, done, dt);
    printf("raw samples_per_s %.0f\n", (double)done / dt);
    sqlite3_finalize(ins_s);
    sqlite3_finalize(begin);
    sqlite3_finalize(commit);
    sqlite3_close(db);
    return 0;
}

int
main(int argc, char **argv)
{
    with_procs = getenv("BENCH_PROCS") != NULL && *getenv("BENCH_PROCS") != '\0';
    long clients = 8, batch = 100;
    double seconds = 5;
    if (argc >= 4 && strcmp(argv[1], "client") == 0) {
        if ((argc > 4 && sm_parse_long(argv[4], 1, 64, &clients) != 0) ||
            (argc > 5 && sm_parse_long(argv[5], 1, 1000, &batch) != 0) ||
            (argc > 6 && sm_parse_double(argv[6], 0.5, 600, &seconds) != 0))
            sm_usage_error("bad CLIENTS, BATCH or SECONDS");
        return run_clients(argv[2], argv[3], (int)clients, (int)batch, seconds);
    }
    if (argc >= 4 && strcmp(argv[1], "raw") == 0) {
        if ((argc > 4 && sm_parse_long(argv[4], 1, 100000, &batch) != 0) ||
            (argc > 5 && sm_parse_double(argv[5], 0.5, 600, &seconds) != 0))
            sm_usage_error("bad BATCH or SECONDS");
        return run_raw(argv[2], argv[3], (int)batch, seconds);
    }
    fprintf(stderr, "usage: bench_ingest client URL[,URL...] TOKEN[,TOKEN...] "
                    "[CLIENTS [BATCH [SECONDS]]]\n"
                    "       bench_ingest raw NEWDB SERVERDB [BATCH [SECONDS]]\n");
    return 2;
}
