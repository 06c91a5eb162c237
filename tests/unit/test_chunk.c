/* test_chunk.c: the chunk codec of smserver/chunk.c: round trips of many shapes of
 * series (bit-exact), the append rules, hand-made damaged chunks, every truncation and
 * every bit flip of valid chunks. */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "tap.h"

#define T0 1764064800000LL /* 2025-11-25, in milliseconds */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint64_t
dbits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

/*---------------------------------------------------------------- generators */

/* Fill pts[0..n) with one shape of series. */
typedef void (*gen_fn)(struct chunk_point *pts, size_t n);

static void
regular_times(struct chunk_point *pts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pts[i].t = T0 + (int64_t)i * 1000;
}

/* 1 Hz with the few milliseconds of jitter a real agent's clock shows. */
static void
jitter_times(struct chunk_point *pts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pts[i].t = T0 + (int64_t)i * 1000 + (int64_t)(rnd() % 5);
}

static void
gen_constant_int(struct chunk_point *pts, size_t n)
{
    regular_times(pts, n);
    for (size_t i = 0; i < n; i++)
        pts[i].v = 2400;
}

static void
gen_constant_float(struct chunk_point *pts, size_t n)
{
    regular_times(pts, n);
    for (size_t i = 0; i < n; i++)
        pts[i].v = 0.1;
}

static void
gen_monotone_counter(struct chunk_point *pts, size_t n)
{
    jitter_times(pts, n);
    double c = 123456789012.0;
    for (size_t i = 0; i < n; i++) {
        c += (double)(rnd() % 100000);
        pts[i].v = c;
    }
}

static void
gen_monotone_float(struct chunk_point *pts, size_t n)
{
    regular_times(pts, n);
    for (size_t i = 0; i < n; i++)
        pts[i].v = 0.5 * (double)i + 1.0 / 3.0;
}

static void
gen_noisy_float(struct chunk_point *pts, size_t n)
{
    jitter_times(pts, n);
    for (size_t i = 0; i < n; i++)
        pts[i].v = (double)(rnd() >> 11) / 9007199254740992.0 * 100.0;
}

/* Percent to two decimals, as the agent reports it. */
static void
gen_percent(struct chunk_point *pts, size_t n)
{
    jitter_times(pts, n);
    for (size_t i = 0; i < n; i++)
        pts[i].v = (double)(rnd() % 10001) / 100.0;
}

static void
gen_bytes_per_s(struct chunk_point *pts, size_t n)
{
    jitter_times(pts, n);
    for (size_t i = 0; i < n; i++)
        pts[i].v = (double)(rnd() % 50000000);
}

/* Memory in use: whole pages, moving by a few hundred pages a second. */
static void
gen_pages(struct chunk_point *pts, size_t n)
{
    jitter_times(pts, n);
    double v = 659251200.0;
    for (size_t i = 0; i < n; i++) {
        v += 4096.0 * ((double)(rnd() % 401) - 200.0);
        pts[i].v = v;
    }
}

static void
gen_negative_ints(struct chunk_point *pts, size_t n)
{
    regular_times(pts, n);
    for (size_t i = 0; i < n; i++)
        pts[i].v = (double)((int64_t)(rnd() % 1000) * (i % 2 ? 1 : -1));
}

static void
gen_special(struct chunk_point *pts, size_t n)
{
    static const double sp[] = {0.0,      -0.0,    1.0,      -1.0,  DBL_MAX,
                                -DBL_MAX, DBL_MIN, 4.9e-324, 1e300, 9007199254740993.0,
                                0.1,      12.5};
    regular_times(pts, n);
    for (size_t i = 0; i < n; i++) {
        switch (i % 16) {
        case 12:
            pts[i].v = (double)NAN;
            break;
        case 13:
            pts[i].v = (double)INFINITY;
            break;
        case 14:
            pts[i].v = -(double)INFINITY;
            break;
        case 15: {
            uint64_t u = 0x7ff0000000000001ULL | (rnd() & 0xfffffffffULL); /* a NaN payload */
            memcpy(&pts[i].v, &u, sizeof u);
            break;
        }
        default:
            pts[i].v = sp[i % 16];
        }
    }
}

/* Gaps from one millisecond to the whole time range, and the range's two ends. */
static void
gen_huge_gaps(struct chunk_point *pts, size_t n)
{
    int64_t t = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == n - 1)
            t = CHUNK_T_MAX;
        pts[i].t = t;
        pts[i].v = (double)i;
        int64_t gap = i % 3 == 0 ? 1 : (int64_t)(rnd() % ((uint64_t)1 << (rnd() % 40)) + 1);
        if (t + gap >= CHUNK_T_MAX - (int64_t)n)
            gap = 1;
        t += gap;
    }
}

static void
gen_zero_to_max(struct chunk_point *pts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pts[i].t = i == 0 ? 0 : CHUNK_T_MAX - (int64_t)(n - 1 - i);
        pts[i].v = i % 2 ? 9007199254740992.0 : -9007199254740992.0;
    }
}

struct shape {
    const char *name;
    gen_fn gen;
    size_t n;
    int want_enc;     /* the value encoding seal should pick, -1: either */
    int want_flags;   /* the flags it should set, -1: any */
    double max_bytes; /* per point, after seal; 0: no bound */
};

static const struct shape shapes[] = {
    {"constant int", gen_constant_int, 3600, CHUNK_ENC_INT, -1, 0.3},
    {"constant float", gen_constant_float, 3600, -1, -1, 0.3},
    {"one point", gen_constant_int, 1, -1, -1, 0},
    {"two points", gen_percent, 2, -1, -1, 0},
    {"monotone counter", gen_monotone_counter, 3600, CHUNK_ENC_INT, CHUNK_TS_BASE, 4.0},
    {"monotone float", gen_monotone_float, 3600, -1, -1, 0},
    {"noisy float", gen_noisy_float, 3600, CHUNK_ENC_XOR, CHUNK_TS_BASE, 9.0},
    {"percent 0.01", gen_percent, 3600, CHUNK_ENC_INT + 2, CHUNK_TS_BASE, 3.5},
    {"bytes/s", gen_bytes_per_s, 3600, CHUNK_ENC_INT, CHUNK_TS_BASE, 5.0},
    {"pages of 4096 bytes", gen_pages, 3600, CHUNK_ENC_INT, CHUNK_TS_BASE | CHUNK_INT_STEP, 2.5},
    {"negative ints", gen_negative_ints, 1000, CHUNK_ENC_INT, -1, 0},
    {"NaN, inf, -0, extremes", gen_special, 1000, CHUNK_ENC_XOR, -1, 0},
    {"huge gaps", gen_huge_gaps, 500, CHUNK_ENC_INT, -1, 0},
    {"0 and CHUNK_T_MAX, +-2^53", gen_zero_to_max, 10, -1, -1, 0},
    {"a full chunk", gen_noisy_float, CHUNK_MAX_POINTS, CHUNK_ENC_XOR, -1, 9.0},
};

static bool
same_points(const struct chunk_point *a, const struct chunk_point *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].t != b[i].t || dbits(a[i].v) != dbits(b[i].v)) {
            diag("    point %zu: got (%lld, %.17g), want (%lld, %.17g)", i, (long long)a[i].t,
                 a[i].v, (long long)b[i].t, b[i].v);
            return false;
        }
    return true;
}

/* Decode buf and compare with want; true when it is exact. */
static bool
decodes_to(const uint8_t *buf, size_t len, const struct chunk_point *want, size_t n)
{
    struct chunk_point *got;
    size_t gn;
    if (chunk_decode(buf, len, &got, &gn) != SM_OK)
        return false;
    bool good = gn == n && same_points(got, want, n);
    free(got);
    return good;
}

static void
test_round_trips(void)
{
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const struct shape *sh = &shapes[s];
        struct chunk_point *pts = calloc(sh->n, sizeof *pts);
        struct chunk_builder b;
        uint8_t *buf = NULL, *xbuf = NULL;
        size_t len = 0, xlen = 0;
        bool appended = true;

        sh->gen(pts, sh->n);
        chunk_builder_init(&b);
        for (size_t i = 0; i < sh->n; i++)
            appended = appended && chunk_append(&b, pts[i].t, pts[i].v) == SM_OK;
        ok(appended, "%s: %zu points appended", sh->name, sh->n);
        ok(chunk_seal(&b, &buf, &len) == SM_OK, "%s: sealed", sh->name);
        ok(b.n == 0, "%s: the window is empty after seal", sh->name);
        ok(decodes_to(buf, len, pts, sh->n), "%s: decodes bit-exact", sh->name);
        ok(chunk_encode(pts, sh->n, CHUNK_ENC_XOR, &xbuf, &xlen) == SM_OK &&
               decodes_to(xbuf, xlen, pts, sh->n),
           "%s: XOR encoding decodes bit-exact", sh->name);
        ok(len <= xlen, "%s: seal is no larger than XOR (%zu <= %zu bytes)", sh->name, len, xlen);
        if (sh->want_enc >= 0)
            ok((buf[1] & CHUNK_ENC_VALUE_MASK) == sh->want_enc, "%s: value encoding %d (want %d)",
               sh->name, buf[1] & CHUNK_ENC_VALUE_MASK, sh->want_enc);
        if (sh->want_flags >= 0)
            ok((buf[1] & ~CHUNK_ENC_VALUE_MASK) == sh->want_flags, "%s: flags 0x%x (want 0x%x)",
               sh->name, buf[1] & ~CHUNK_ENC_VALUE_MASK, sh->want_flags);
        free(xbuf);
        ok(chunk_encode(pts, sh->n, CHUNK_ENC_XOR | CHUNK_TS_BASE, &xbuf, &xlen) == SM_OK &&
               decodes_to(xbuf, xlen, pts, sh->n),
           "%s: XOR with base deltas decodes bit-exact", sh->name);
        if (sh->max_bytes > 0)
            ok((double)len / (double)sh->n <= sh->max_bytes, "%s: %.3f bytes/point (at most %.1f)",
               sh->name, (double)len / (double)sh->n, sh->max_bytes);
        else
            diag("%s: %.3f bytes/point", sh->name, (double)len / (double)sh->n);
        free(buf);
        free(xbuf);
        chunk_builder_done(&b);
        free(pts);
    }
}

/*---------------------------------------------------------------- append rules */

static void
test_append_rules(void)
{
    struct chunk_builder b;
    uint8_t *buf = NULL;
    size_t len = 0;

    chunk_builder_init(&b);
    ok(chunk_seal(&b, &buf, &len) == SM_EINVAL, "seal of an empty window: SM_EINVAL");
    ok(chunk_append(&b, -1, 1) == SM_EINVAL, "negative time refused");
    ok(chunk_append(&b, CHUNK_T_MAX + 1, 1) == SM_EINVAL, "time past CHUNK_T_MAX refused");
    ok(chunk_append(&b, T0, 1.5) == SM_OK && b.n == 1, "first point");
    ok(chunk_append(&b, T0 - 1, 1.5) == SM_EINVAL && b.n == 1, "an earlier point: SM_EINVAL");
    ok(chunk_append(&b, T0, 1.5) == SM_OK && b.n == 1, "a resend (same time, value): ignored");
    ok(chunk_append(&b, T0, 2.5) == SM_ECONFLICT && b.n == 1,
       "same time, another value: SM_ECONFLICT");
    ok(chunk_append(&b, T0, -0.0) == SM_ECONFLICT && b.n == 1, "0.0 and -0.0 differ");
    ok(chunk_append(&b, T0 + 1, (double)NAN) == SM_OK &&
           chunk_append(&b, T0 + 1, (double)NAN) == SM_OK && b.n == 2,
       "a NaN resent with the same bits is a resend");
    ok(chunk_append(&b, T0 + 1000, 3) == SM_OK && b.n == 3, "a later point");
    ok(chunk_seal(&b, &buf, &len) == SM_OK && b.n == 0, "sealed, window empty");
    struct chunk_point *pts;
    size_t n;
    ok(chunk_decode(buf, len, &pts, &n) == SM_OK && n == 3 && pts[0].t == T0 && pts[0].v == 1.5 &&
           isnan(pts[1].v) && pts[2].t == T0 + 1000 && pts[2].v == 3,
       "the three points come back");
    free(pts);
    free(buf);
    ok(chunk_append(&b, T0 - 5000, 1) == SM_OK, "after seal the next window starts afresh");
    chunk_builder_done(&b);

    chunk_builder_init(&b);
    bool all = true;
    for (int64_t i = 0; i < CHUNK_MAX_POINTS; i++)
        all = all && chunk_append(&b, i, 0) == SM_OK;
    ok(all && chunk_append(&b, CHUNK_MAX_POINTS, 0) == SM_ETOOBIG && b.n == CHUNK_MAX_POINTS,
       "point %d: SM_ETOOBIG", CHUNK_MAX_POINTS + 1);
    chunk_builder_done(&b);

    struct chunk_point two[2] = {{T0, 1}, {T0, 2}};
    ok(chunk_encode(two, 2, CHUNK_ENC_XOR, &buf, &len) == SM_EINVAL, "encode: equal times");
    two[1].t = T0 - 1;
    ok(chunk_encode(two, 2, CHUNK_ENC_XOR, &buf, &len) == SM_EINVAL, "encode: times reversed");
    two[1].t = T0 + 1;
    ok(chunk_encode(two, 0, CHUNK_ENC_XOR, &buf, &len) == SM_EINVAL, "encode: no points");
    ok(chunk_encode(two, 2, -1, &buf, &len) == SM_EINVAL, "encode: encoding -1");
    ok(chunk_encode(two, 2, CHUNK_ENC_INT + CHUNK_MAX_SCALE + 1, &buf, &len) == SM_EINVAL,
       "encode: scale past CHUNK_MAX_SCALE");
    two[1].v = 2.5;
    ok(chunk_encode(two, 2, CHUNK_ENC_INT, &buf, &len) == SM_EINVAL,
       "encode: 2.5 is not an integer");
    ok(chunk_encode(two, 2, CHUNK_ENC_INT + 1, &buf, &len) == SM_OK &&
           (buf[1] & CHUNK_ENC_VALUE_MASK) == 2,
       "2.5 at k=1");
    free(buf);
    two[1].v = (double)NAN;
    ok(chunk_encode(two, 2, CHUNK_ENC_INT + 3, &buf, &len) == SM_EINVAL, "encode: NaN as int");
    two[1].v = 9007199254740994.0;
    ok(chunk_encode(two, 2, CHUNK_ENC_INT, &buf, &len) == SM_EINVAL, "encode: 2^53 + 2 as int");
}

/*---------------------------------------------------------------- damaged chunks */

/* Header bytes, then bits as '0'/'1' characters (spaces ignored), padded with zeros. */
struct raw {
    const char *name;
    uint8_t head[12];
    size_t nhead;
    const char *bits;
    enum sm_rc rc;
    size_t npoints; /* when SM_OK */
};

static const char zero64[] = "0000000000000000000000000000000000000000000000000000000000000000";

static const struct raw raws[] = {
    {"INT: 2 points, dod +1", {1, 1, 2, 0xe8, 0x07}, 5, "0 100010 0", SM_OK, 2},
    {"INT: delta -1 goes back in time", {1, 1, 2, 0xe8, 0x07}, 5, "0 100001 0", SM_EPARSE, 0},
    {"INT: delta 0 repeats a time", {1, 1, 2, 0xe8, 0x07}, 5, "0 0 0", SM_EPARSE, 0},
    {"INT: one point, value 0", {1, 1, 1, 5}, 4, "0", SM_OK, 1},
    {"INT: reuse of a width before any", {1, 1, 1, 5}, 4, "10 0000", SM_EPARSE, 0},
    {"INT: 2 points, width 3 then reused",
     {1, 1, 2, 5},
     4,
     "11 000011 101 100010 10 100",
     SM_OK,
     2},
    {"INT: a padding bit set", {1, 1, 1, 5}, 4, "0 0000001", SM_EPARSE, 0},
    {"INT: a byte after the end", {1, 1, 1, 5}, 4, "0 0000000 00000000", SM_EPARSE, 0},
    {"INT: value past 2^53",
     {1, 1, 1, 5},
     4,
     "11 000000 0000000001000000000000000000000000000000000000000000000000000010",
     SM_EPARSE,
     0},
    {"INT: value 2^53",
     {1, 1, 1, 5},
     4,
     "11 110111 1000000000000000000000000000000000000000000000000000000",
     SM_OK,
     1},
    {"INT+STEP 4096: 0 then 4096",
     {1, 0x21, 2, 1, 0x80, 0x20},
     6,
     "0 100010 11 000010 10",
     SM_OK,
     2},
    {"INT+STEP 1 (not canonical)", {1, 0x21, 2, 1, 1}, 5, "0 100010 11 000010 10", SM_EPARSE, 0},
    {"INT+STEP 0", {1, 0x21, 2, 1, 0}, 5, "0 100010 0", SM_EPARSE, 0},
    {"INT+STEP 2^54 + 1",
     {1, 0x21, 1, 1, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20},
     12,
     "0",
     SM_EPARSE,
     0},
    {"INT+STEP 2^54: m past 2^53",
     {1, 0x21, 2, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20},
     12,
     "0 100010 11 000010 10",
     SM_EPARSE,
     0},
    {"INT+STEP 2^54: delta times step overflows",
     {1, 0x21, 2, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20},
     12,
     "0 100010 11 010110 100000000000000000000",
     SM_EPARSE,
     0},
    {"XOR+STEP", {1, 0x20, 1, 1, 2}, 5, "*", SM_EPARSE, 0},
    {"flag 0x40", {1, 0x41, 1, 5}, 4, "0", SM_EPARSE, 0},
    {"flag 0x80", {1, 0x81, 1, 5}, 4, "0", SM_EPARSE, 0},
    {"INT+BASE 1000: 2 points", {1, 0x11, 2, 1, 0xe8, 0x07}, 6, "0 0 0", SM_OK, 2},
    {"INT+BASE 0", {1, 0x11, 2, 1, 0}, 5, "0 0 0", SM_EPARSE, 0},
    {"INT+BASE 1000: delta 0",
     {1, 0x11, 2, 1, 0xe8, 0x07},
     6,
     "0 1110 011111001111 0",
     SM_EPARSE,
     0},
    {"INT+BASE 1000: delta 1", {1, 0x11, 2, 1, 0xe8, 0x07}, 6, "0 1110 011111001101 0", SM_OK, 2},
    {"version 0", {0, 1, 1, 5}, 4, "0", SM_EPARSE, 0},
    {"version 2", {2, 1, 1, 5}, 4, "0", SM_EPARSE, 0},
    {"encoding 11", {1, 11, 1, 5}, 4, "0", SM_EPARSE, 0},
    {"encoding 10 (k=9)", {1, 10, 1, 5}, 4, "0", SM_OK, 1},
    {"count 0", {1, 1, 0, 5}, 4, "0", SM_EPARSE, 0},
    {"count 65537", {1, 1, 0x81, 0x80, 0x04, 5}, 6, "0", SM_EPARSE, 0},
    {"count more than the bits", {1, 1, 0x80, 0x80, 0x04, 5}, 6, "0", SM_EPARSE, 0},
    {"count not minimal", {1, 1, 0x81, 0x00, 5}, 5, "0", SM_EPARSE, 0},
    {"time 2^53", {1, 1, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10}, 11, "0", SM_OK, 1},
    {"time 2^53 + 1",
     {1, 1, 1, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10},
     11,
     "0",
     SM_EPARSE,
     0},
    {"time varint without end",
     {1, 1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
     12,
     "",
     SM_EPARSE,
     0},
    {"INT: time past CHUNK_T_MAX by delta",
     {1, 1, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f},
     11,
     "0 11110 00000000000000000100 0",
     SM_EPARSE,
     0},
    {"INT: dod overflows int64",
     {1, 1, 3, 1},
     4,
     "0 1110 000000000010 0 11111 "
     "1111111111111111111111111111111111111111111111111111111111111110 0",
     SM_EPARSE,
     0},
    {"XOR: 2 points, same value", {1, 0, 2, 1}, 4, "* 100010 0", SM_OK, 2},
    {"XOR: reuse of a window before any", {1, 0, 2, 1}, 4, "* 100010 10", SM_EPARSE, 0},
    {"XOR: lead 31 + sig 40 > 64",
     {1, 0, 2, 1},
     4,
     "* 100010 11 11111 101000 0000000000000000000000000000000000000001",
     SM_EPARSE,
     0},
    {"XOR: lead 0 + sig 64 (coded 0)",
     {1, 0, 2, 1},
     4,
     "* 100010 11 00000 000000 1000000000000000000000000000000000000000000000000000000000000001",
     SM_OK,
     2},
    {"XOR: value bits cut short", {1, 0, 2, 1}, 4, "* 100010 11 00001 010100 10", SM_EPARSE, 0},
    {"XOR: first value cut short", {1, 0, 1, 1}, 4, "0000000000000000", SM_EPARSE, 0},
    {"empty", {0}, 0, "", SM_EPARSE, 0},
    {"header only", {1, 0, 1, 1}, 4, "", SM_EPARSE, 0},
};

/* Build a chunk from r into buf; '*' stands for 64 zero bits. Returns its length. */
static size_t
build_raw(const struct raw *r, uint8_t *buf, size_t cap)
{
    size_t bit;
    memset(buf, 0, cap);
    memcpy(buf, r->head, r->nhead);
    bit = r->nhead * 8;
    for (const char *p = r->bits; *p; p++) {
        const char *s = *p == '*' ? zero64 : p;
        size_t ns = *p == '*' ? 64 : 1;
        for (size_t j = 0; j < ns; j++, bit++)
            if (s[j] == '1')
                buf[bit >> 3] |= (uint8_t)(0x80 >> (bit & 7));
            else if (s[j] != '0')
                break;
    }
    return (bit + 7) / 8;
}

static void
test_raw_chunks(void)
{
    uint8_t buf[64];
    for (size_t i = 0; i < sizeof raws / sizeof raws[0]; i++) {
        const struct raw *r = &raws[i];
        size_t len = build_raw(r, buf, sizeof buf);
        struct chunk_point sentinel, *pts = &sentinel;
        size_t n = 99;
        enum sm_rc rc = chunk_decode(buf, len, &pts, &n);
        ok(rc == r->rc && (rc != SM_OK || n == r->npoints) && (rc == SM_OK || pts == NULL),
           "raw chunk: %s: %s", r->name, sm_rc_str(r->rc));
        if (rc != r->rc)
            diag("    got %s", sm_rc_str(rc));
        free(rc == SM_OK ? pts : NULL);
    }
    /* A length past the cap is refused before anything is read. */
    static uint8_t big[CHUNK_MAX_BYTES + 1];
    struct chunk_point *pts;
    size_t n;
    ok(chunk_decode(big, sizeof big, &pts, &n) == SM_ETOOBIG, "a chunk past CHUNK_MAX_BYTES");
    /* An iterator whose init failed keeps failing. */
    struct chunk_iter it;
    struct chunk_point p;
    ok(chunk_iter_init(&it, big, 3) == SM_EPARSE && chunk_iter_next(&it, &p) == -1 &&
           chunk_iter_next(&it, &p) == -1,
       "a failed iterator reports damage on every call");
}

/* A damaged chunk either fails or yields points that keep the rules. */
static bool
damage_ok(const uint8_t *buf, size_t len, int *rejected)
{
    struct chunk_point *pts;
    size_t n;
    enum sm_rc rc = chunk_decode(buf, len, &pts, &n);
    if (rc != SM_OK) {
        ++*rejected;
        return rc == SM_EPARSE && pts == NULL;
    }
    bool good = n >= 1 && n <= CHUNK_MAX_POINTS;
    for (size_t i = 0; i < n && good; i++)
        good = pts[i].t >= 0 && pts[i].t <= CHUNK_T_MAX && (i == 0 || pts[i].t > pts[i - 1].t);
    free(pts);
    return good;
}

static void
test_damage(void)
{
    static const gen_fn gens[] = {gen_percent, gen_noisy_float, gen_special, gen_huge_gaps};
    static const char *names[] = {"INT k=2", "XOR noisy", "XOR special", "INT huge gaps"};
    for (size_t g = 0; g < sizeof gens / sizeof gens[0]; g++) {
        struct chunk_point pts[200];
        struct chunk_builder b;
        uint8_t *buf, *copy;
        size_t len;
        bool all = true;
        int rejected = 0, flips = 0;

        gens[g](pts, 200);
        chunk_builder_init(&b);
        for (size_t i = 0; i < 200; i++)
            all = all && chunk_append(&b, pts[i].t, pts[i].v) == SM_OK;
        all = all && chunk_seal(&b, &buf, &len) == SM_OK;
        chunk_builder_done(&b);
        if (!ok(all, "%s: built", names[g]))
            continue;
        /* Every truncation: the copy is exactly len bytes so ASan sees any over-read. */
        bool trunc = true;
        for (size_t l = 0; l < len; l++) {
            copy = malloc(l ? l : 1);
            memcpy(copy, buf, l);
            struct chunk_point *out;
            size_t n;
            trunc = trunc && chunk_decode(copy, l, &out, &n) == SM_EPARSE && out == NULL;
            free(copy);
        }
        ok(trunc, "%s: all %zu truncations are SM_EPARSE", names[g], len);
        /* Every single bit flipped. */
        bool flip = true;
        copy = malloc(len);
        for (size_t bit = 0; bit < len * 8; bit++) {
            memcpy(copy, buf, len);
            copy[bit >> 3] ^= (uint8_t)(1u << (bit & 7));
            flip = flip && damage_ok(copy, len, &rejected);
            flips++;
        }
        ok(flip, "%s: %d bit flips fail cleanly or keep the rules (%d rejected)", names[g], flips,
           rejected);
        /* Iterating step by step agrees with the whole decode, and ends once. */
        struct chunk_iter it;
        struct chunk_point p;
        size_t n = 0;
        bool same = chunk_iter_init(&it, buf, len) == SM_OK;
        int r;
        while (same && (r = chunk_iter_next(&it, &p)) == 1) {
            same = n < 200 && p.t == pts[n].t && dbits(p.v) == dbits(pts[n].v);
            n++;
        }
        ok(same && n == 200 && chunk_iter_next(&it, &p) == 0, "%s: iterator walks all 200",
           names[g]);
        free(copy);
        free(buf);
    }
}

int
main(void)
{
    test_round_trips();
    test_append_rules();
    test_raw_chunks();
    test_damage();
    return tap_done();
}
