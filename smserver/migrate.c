/* migrate.c: smserver migrate --from PATH.db --to POSTGRESQL (migrate.h): copy a SQLite
 * database's users, agents, refresh token hashes, alert channels and alert rules into a
 * PostgreSQL database, one table step at a time, each in one transaction. Rows keep
 * their ids, so the references between them hold; a row whose key is already there is
 * kept, so a run interrupted part way is simply run again. After each step the rows of
 * both sides are counted and hashed in the same canonical form, and any difference is
 * an error that names the table. Samples are to be one more step once the PostgreSQL
 * backend stores them (issue 21). Every value is a bound parameter. */
#include "config.h"

#include "migrate.h"

#include <getopt.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

#define MIGRATE_COLS 16

/* One table. types has one letter per column: i integer, t text, b bytes, d double,
 * B boolean. src and dst select the same columns in the same key order; ins writes one
 * row ($1 ...) and keeps a row whose key exists; seq, when set, moves the identity
 * sequence past the copied ids, so rows made on PostgreSQL later get new ones. */
struct step {
    const char *table;
    const char *types;
    const char *src;
    const char *ins;
    const char *dst;
    const char *seq;
};

static const struct step steps[] = {
    {"users", "itti", "SELECT id, name, pwhash, created FROM users ORDER BY id",
     "INSERT INTO users(id, name, pwhash, created) OVERRIDING SYSTEM VALUE"
     " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
     "SELECT id, name, pwhash, created FROM users ORDER BY id",
     "SELECT setval(pg_get_serial_sequence('users', 'id'),"
     " (SELECT coalesce(max(id), 0) + 1 FROM users), false)"},
    {"agents", "iitbiit",
     "SELECT id, user_id, name, token_hash, created, last_seen, host FROM agents ORDER BY id",
     "INSERT INTO agents(id, user_id, name, token_hash, created, last_seen, host)"
     " OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
     "SELECT id, user_id, name, token_hash, created, last_seen, host FROM agents ORDER BY id",
     "SELECT setval(pg_get_serial_sequence('agents', 'id'),"
     " (SELECT coalesce(max(id), 0) + 1 FROM agents), false)"},
    {"refresh_tokens", "bibiBi",
     "SELECT hash, user_id, family, expires, revoked, created FROM refresh_tokens"
     " ORDER BY hash",
     "INSERT INTO refresh_tokens(hash, user_id, family, expires, revoked, created)"
     " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
     "SELECT hash, user_id, family, expires, revoked, created FROM refresh_tokens"
     " ORDER BY hash",
     NULL},
    {"alert_channels", "iittttbi",
     "SELECT id, user_id, name, kind, url, chat_id, secret, created FROM alert_channels"
     " ORDER BY id",
     "INSERT INTO alert_channels(id, user_id, name, kind, url, chat_id, secret, created)"
     " OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
     "SELECT id, user_id, name, kind, url, chat_id, secret, created FROM alert_channels"
     " ORDER BY id",
     "SELECT setval(pg_get_serial_sequence('alert_channels', 'id'),"
     " (SELECT coalesce(max(id), 0) + 1 FROM alert_channels), false)"},
    {"alert_rules", "iittttdiiitiii",
     "SELECT id, user_id, name, metric, labels, op, threshold, for_seconds, resolve_seconds,"
     " agent_id, severity, channel_id, created, updated FROM alert_rules ORDER BY id",
     "INSERT INTO alert_rules(id, user_id, name, metric, labels, op, threshold, for_seconds,"
     " resolve_seconds, agent_id, severity, channel_id, created, updated)"
     " OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
     " $13, $14) ON CONFLICT DO NOTHING",
     "SELECT id, user_id, name, metric, labels, op, threshold, for_seconds, resolve_seconds,"
     " agent_id, severity, channel_id, created, updated FROM alert_rules ORDER BY id",
     "SELECT setval(pg_get_serial_sequence('alert_rules', 'id'),"
     " (SELECT coalesce(max(id), 0) + 1 FROM alert_rules), false)"},
};

static const char usage_text[] = "usage: smserver migrate --from PATH.db --to POSTGRESQL";

static void
hex(char *dst, const uint8_t *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        dst[2 * i] = digits[b[i] >> 4];
        dst[2 * i + 1] = digits[b[i] & 15];
    }
    dst[2 * n] = '\0';
}

/* One value into the table's hash: its type, its canonical text, a separator. */
static void
hash_value(crypto_generichash_state *h, char type, const char *v, size_t n)
{
    uint8_t sep = 0x1f;
    crypto_generichash_update(h, (const uint8_t *)&type, 1);
    if (v)
        crypto_generichash_update(h, (const uint8_t *)v, n);
    else
        crypto_generichash_update(h, (const uint8_t *)"\\N", 2);
    crypto_generichash_update(h, &sep, 1);
}

/* The canonical text of column c of a SQLite row (allocated; NULL for SQL NULL), and
 * the parameter that writes it (*param, *plen, *pfmt; param borrows from the row or
 * from *own, which the caller frees). */
static char *
sqlite_value(sqlite3_stmt *s, int c, char type, const char **param, int *plen, int *pfmt,
             char **own)
{
    *own = NULL;
    *plen = 0;
    *pfmt = 0;
    if (sqlite3_column_type(s, c) == SQLITE_NULL) {
        *param = NULL;
        return NULL;
    }
    switch (type) {
    case 'i':
        *own = sm_xasprintf("%" PRId64, (int64_t)sqlite3_column_int64(s, c));
        *param = *own;
        return sm_xstrdup(*own);
    case 'd':
        *own = sm_xasprintf("%.17g", sqlite3_column_double(s, c));
        *param = *own;
        return sm_xstrdup(*own);
    case 'B':
        *param = sqlite3_column_int64(s, c) ? "true" : "false";
        return sm_xstrdup(sqlite3_column_int64(s, c) ? "1" : "0");
    case 'b': {
        const uint8_t *b = sqlite3_column_blob(s, c);
        int n = sqlite3_column_bytes(s, c);
        *param = b ? (const char *)b : "";
        *plen = n;
        *pfmt = 1;
        char *t = sm_xmalloc(2 * (size_t)n + 1);
        hex(t, b, (size_t)n);
        return t;
    }
    default: { /* 't' */
        const char *t = (const char *)sqlite3_column_text(s, c);
        *param = t ? t : "";
        return sm_xstrdup(*param);
    }
    }
}

/* The canonical text of a PostgreSQL value (text form), as sqlite_value makes it. */
static char *
pg_value(const PGresult *r, int row, int c, char type)
{
    if (PQgetisnull(r, row, c))
        return NULL;
    const char *v = PQgetvalue(r, row, c);
    switch (type) {
    case 'd':
        return sm_xasprintf("%.17g", strtod(v, NULL));
    case 'B':
        return sm_xstrdup(v[0] == 't' ? "1" : "0");
    case 'b':
        return sm_xstrdup(strncmp(v, "\\x", 2) == 0 ? v + 2 : v);
    default:
        return sm_xstrdup(v);
    }
}

struct tally {
    int64_t rows, added;
    uint8_t sum[16];
};

/* Copy one table and hash its source rows; 0, or -1 with *cause set. */
static int
copy_step(sqlite3 *src, PGconn *dst, const struct step *st, struct tally *t, char **cause)
{
    int ncol = (int)strlen(st->types);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(src, st->src, -1, &s, NULL) != SQLITE_OK) {
        *cause =
            sm_xasprintf("%s: reading the SQLite database: %s", st->table, sqlite3_errmsg(src));
        return -1;
    }
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, sizeof t->sum);
    PGresult *r = PQexec(dst, "BEGIN");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    int step;
    while (ok && (step = sqlite3_step(s)) == SQLITE_ROW) {
        const char *val[MIGRATE_COLS];
        int len[MIGRATE_COLS], fmt[MIGRATE_COLS];
        char *own[MIGRATE_COLS];
        for (int c = 0; c < ncol; c++) {
            char *canon = sqlite_value(s, c, st->types[c], &val[c], &len[c], &fmt[c], &own[c]);
            hash_value(&h, st->types[c], canon, canon ? strlen(canon) : 0);
            free(canon);
        }
        r = PQexecParams(dst, st->ins, ncol, NULL, val, len, fmt, 0);
        for (int c = 0; c < ncol; c++)
            free(own[c]);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            *cause =
                sm_xasprintf("%s: writing to PostgreSQL: %s", st->table, PQresultErrorMessage(r));
            ok = 0;
        } else {
            t->rows++;
            t->added += strcmp(PQcmdTuples(r), "1") == 0;
        }
        PQclear(r);
    }
    if (ok && step != SQLITE_DONE) {
        *cause =
            sm_xasprintf("%s: reading the SQLite database: %s", st->table, sqlite3_errmsg(src));
        ok = 0;
    }
    sqlite3_finalize(s);
    if (ok && st->seq) {
        r = PQexec(dst, st->seq);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            *cause = sm_xasprintf("%s: identity: %s", st->table, PQresultErrorMessage(r));
            ok = 0;
        }
        PQclear(r);
    }
    r = PQexec(dst, ok ? "COMMIT" : "ROLLBACK");
    if (ok && PQresultStatus(r) != PGRES_COMMAND_OK) {
        *cause = sm_xasprintf("%s: commit: %s", st->table, PQresultErrorMessage(r));
        ok = 0;
    }
    PQclear(r);
    crypto_generichash_final(&h, t->sum, sizeof t->sum);
    return ok ? 0 : -1;
}

/* Count and hash the table's rows on PostgreSQL, as copy_step did the source's. */
static int
check_step(PGconn *dst, const struct step *st, struct tally *t, char **cause)
{
    int ncol = (int)strlen(st->types);
    PGresult *r = PQexec(dst, st->dst);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        *cause = sm_xasprintf("%s: reading PostgreSQL: %s", st->table, PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, sizeof t->sum);
    t->rows = PQntuples(r);
    for (int i = 0; i < PQntuples(r); i++)
        for (int c = 0; c < ncol; c++) {
            char *canon = pg_value(r, i, c, st->types[c]);
            hash_value(&h, st->types[c], canon, canon ? strlen(canon) : 0);
            free(canon);
        }
    PQclear(r);
    crypto_generichash_final(&h, t->sum, sizeof t->sum);
    return 0;
}

static int
is_postgresql(const char *db)
{
    return strcmp(store_backend_of(db), "postgresql") == 0;
}

int
migrate_main(int argc, char **argv)
{
    static const struct option opts[] = {{"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *from = NULL, *to = NULL;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'f':
            from = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 'h':
            printf("%s\n", usage_text);
            return SM_EXIT_OK;
        default:
            sm_usage_error("%s", usage_text);
        }
    }
    if (optind != argc || !from || !to)
        sm_usage_error("%s", usage_text);
    if (is_postgresql(from))
        sm_usage_error("--from: expected the path of a SQLite database");
    if (!is_postgresql(to))
        sm_usage_error("--to: expected a postgresql:// URI or a libpq connection string");
    struct stat sb;
    if (stat(from, &sb) != 0 || !S_ISREG(sb.st_mode))
        sm_die(SM_EXIT_FAIL, "migrate: %s: no such database file", from);
    if (sodium_init() < 0)
        sm_die(SM_EXIT_FAIL, "libsodium failed to initialise");

    /* Both schemas brought to this smserver's version (or refused as newer), as a start
     * of the server would. */
    struct store *st = NULL;
    char *cause = NULL;
    if (store_open(from, &st, &cause) != SM_OK)
        sm_die(SM_EXIT_FAIL, "migrate: %s: %s", from, cause);
    store_free(st);
    if (store_open(to, &st, &cause) != SM_OK)
        sm_die(SM_EXIT_FAIL, "migrate: %s", cause);
    store_free(st);

    sqlite3 *src = NULL;
    if (sqlite3_open_v2(from, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        sm_die(SM_EXIT_FAIL, "migrate: %s: %s", from, src ? sqlite3_errmsg(src) : "cannot open");
    sqlite3_busy_timeout(src, 5000);
    PGconn *dst = PQconnectdb(to);
    if (PQstatus(dst) != CONNECTION_OK) {
        /* libpq's message names host and user, never the password. */
        fprintf(stderr, "smserver: migrate: postgresql: cannot connect: %s", PQerrorMessage(dst));
        PQfinish(dst);
        sqlite3_close(src);
        return SM_EXIT_FAIL;
    }
    PQclear(PQexec(dst, "SET client_min_messages = warning"));
    int ret = SM_EXIT_OK;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0] && ret == SM_EXIT_OK; i++) {
        struct tally a = {0}, b = {0};
        if (copy_step(src, dst, &steps[i], &a, &cause) != 0 ||
            check_step(dst, &steps[i], &b, &cause) != 0) {
            fprintf(stderr, "smserver: migrate: %s\n", cause);
            free(cause);
            cause = NULL;
            ret = SM_EXIT_FAIL;
            break;
        }
        char ha[33], hb[33];
        hex(ha, a.sum, sizeof a.sum);
        hex(hb, b.sum, sizeof b.sum);
        int same = a.rows == b.rows && sodium_memcmp(a.sum, b.sum, sizeof a.sum) == 0;
        printf("%s: %" PRId64 " rows, %" PRId64 " copied, %" PRId64
               " already there; checksum %s %s\n",
               steps[i].table, a.rows, a.added, a.rows - a.added, ha, same ? "matches" : "DIFFERS");
        if (!same) {
            fprintf(stderr,
                    "smserver: migrate: %s: PostgreSQL holds %" PRId64
                    " rows (checksum %s), the SQLite database %" PRId64
                    ": the target has other rows; migrate into an empty database\n",
                    steps[i].table, b.rows, hb, a.rows);
            ret = SM_EXIT_FAIL;
        }
    }
    PQfinish(dst);
    sqlite3_close(src);
    if (ret == SM_EXIT_OK)
        printf("migrate: done; every table matches\n");
    return ret;
}
