/* chunk.c: encoding and decoding of compressed series chunks (chunk.h has the layout). */
#include "config.h"

#include "chunk.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

/* Timestamps' deltas of deltas in a prefix code: bucket i is i one bits then a zero (the
 * last bucket: all ones), followed by ts_widths[i] bits of the zigzagged integer. */
static const int ts_widths[] = {0, 4, 8, 12, 20, 64};
#define NTS ((int)(sizeof ts_widths / sizeof ts_widths[0]))

static const double pow10_tab[CHUNK_MAX_SCALE + 1] = {1e0, 1e1, 1e2, 1e3, 1e4,
                                                      1e5, 1e6, 1e7, 1e8, 1e9};

#define INT_MAX_ABS ((int64_t)1 << 53)

/*---------------------------------------------------------------- bits */

struct bitw {
    uint8_t *buf; /* zeroed, large enough for everything written (sized by the caller) */
    size_t bit;
};

/* Append the low nbits (0..64) of v, most significant first. */
static void
bitw_put(struct bitw *w, uint64_t v, int nbits)
{
    while (nbits > 0) {
        int room = 8 - (int)(w->bit & 7);
        int take = nbits < room ? nbits : room;
        uint64_t part = (v >> (nbits - take)) & ((1u << take) - 1);
        w->buf[w->bit >> 3] |= (uint8_t)(part << (room - take));
        w->bit += (size_t)take;
        nbits -= take;
    }
}

/* Read nbits (0..64) into *v; false when fewer bits are left. */
static bool
iter_get(struct chunk_iter *it, int nbits, uint64_t *v)
{
    uint64_t r = 0;
    if ((size_t)nbits > it->len * 8 - it->bit)
        return false;
    while (nbits > 0) {
        int room = 8 - (int)(it->bit & 7);
        int take = nbits < room ? nbits : room;
        unsigned byte = it->buf[it->bit >> 3];
        unsigned part = (byte >> (room - take)) & ((1u << take) - 1);
        r = r << take | part;
        it->bit += (size_t)take;
        nbits -= take;
    }
    *v = r;
    return true;
}

static uint64_t
zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v < 0 ? -1 : 0);
}

static int64_t
unzigzag(uint64_t u)
{
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* Write v in the smallest bucket of widths that holds its zigzag. */
static void
put_code(struct bitw *w, const int *widths, int nw, int64_t v)
{
    uint64_t z = zigzag(v);
    int i = 0;
    while (i < nw - 1 && widths[i] < 64 && (z >> widths[i]) != 0)
        i++;
    bitw_put(w, (uint64_t)((1u << i) - 1) << (i < nw - 1 ? 1 : 0), i + (i < nw - 1 ? 1 : 0));
    bitw_put(w, z, widths[i]);
}

static bool
get_code(struct chunk_iter *it, const int *widths, int nw, int64_t *v)
{
    int i = 0;
    uint64_t b, z;
    while (i < nw - 1) {
        if (!iter_get(it, 1, &b))
            return false;
        if (b == 0)
            break;
        i++;
    }
    if (!iter_get(it, widths[i], &z))
        return false;
    *v = unzigzag(z);
    return true;
}

/* A value's delta d: '0' when it is 0; '10' and its zigzag in *width bits, the width
 * of the last '11'; or '11', a new width (6 bits, 0 for 64) and the zigzag in that
 * many bits. A new width costs 6 bits, so the last one is kept while it holds d and
 * wastes fewer than that. */
static void
put_int(struct bitw *w, int64_t d, int *width)
{
    uint64_t z = zigzag(d);
    if (z == 0) {
        bitw_put(w, 0, 1);
        return;
    }
    int need = 64 - __builtin_clzll(z);
    if (*width > 0 && need <= *width && *width - need < 6) {
        bitw_put(w, 2, 2);
    } else {
        bitw_put(w, 3, 2);
        bitw_put(w, (uint64_t)(need & 63), 6);
        *width = need;
    }
    bitw_put(w, z, *width);
}

static bool
get_int(struct chunk_iter *it, int64_t *d)
{
    uint64_t b, z;
    if (!iter_get(it, 1, &b))
        return false;
    if (b == 0) {
        *d = 0;
        return true;
    }
    if (!iter_get(it, 1, &b))
        return false;
    if (b == 1) {
        if (!iter_get(it, 6, &z))
            return false;
        it->width = z == 0 ? 64 : (int)z;
    } else if (it->width == 0) {
        return false; /* no width to reuse yet */
    }
    if (!iter_get(it, it->width, &z))
        return false;
    *d = unzigzag(z);
    return true;
}

static size_t
put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* A minimal LEB128 varint at *pos of buf[0..len), at most max; false when damaged. */
static bool
get_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t max, uint64_t *v)
{
    uint64_t r = 0;
    for (int shift = 0; shift < 63; shift += 7) {
        if (*pos >= len)
            return false;
        uint8_t b = buf[(*pos)++];
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (b == 0 && shift > 0)
                return false; /* not minimal */
            if (r > max)
                return false;
            *v = r;
            return true;
        }
    }
    return false; /* longer than any value we accept */
}

/*---------------------------------------------------------------- encoder */

static uint64_t
dbits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static double
bitsd(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* The value that the integer m stands for at scale k. */
static double
unscale(int64_t m, int k)
{
    return (double)m / pow10_tab[k];
}

/* The scaled integer of v at scale k, when v is exactly m / 10^k with |m| <= 2^53. */
static bool
scale_of(double v, int k, int64_t *m)
{
    if (!isfinite(v))
        return false;
    double x = rint(v * pow10_tab[k]);
    if (!(fabs(x) <= (double)INT_MAX_ABS))
        return false;
    *m = (int64_t)x;
    return dbits(unscale(*m, k)) == dbits(v);
}

/* The smallest k at which every value is a scaled integer, or -1. */
static int
int_scale(const struct chunk_point *pts, size_t n)
{
    for (int k = 0; k <= CHUNK_MAX_SCALE; k++) {
        size_t i;
        int64_t m;
        for (i = 0; i < n; i++)
            if (!scale_of(pts[i].v, k, &m))
                break;
        if (i == n)
            return k;
        if (!isfinite(pts[i].v))
            return -1;
    }
    return -1;
}

static bool
points_valid(const struct chunk_point *pts, size_t n)
{
    if (n < 1 || n > CHUNK_MAX_POINTS)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (pts[i].t < 0 || pts[i].t > CHUNK_T_MAX)
            return false;
        if (i > 0 && pts[i].t <= pts[i - 1].t)
            return false;
    }
    return true;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The median of the points' time deltas (1 for a single point). */
static int64_t
median_delta(const struct chunk_point *pts, size_t n)
{
    if (n < 2)
        return 1;
    int64_t *d = sm_xreallocarray(NULL, n - 1, sizeof *d);
    for (size_t i = 1; i < n; i++)
        d[i - 1] = pts[i].t - pts[i - 1].t;
    qsort(d, n - 1, sizeof *d, cmp_i64);
    int64_t m = d[(n - 1) / 2];
    free(d);
    return m;
}

static uint64_t
gcd_u64(uint64_t a, uint64_t b)
{
    while (b != 0) {
        uint64_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

enum sm_rc
chunk_encode(const struct chunk_point *pts, size_t n, int enc, uint8_t **out, size_t *len)
{
    int venc = enc & CHUNK_ENC_VALUE_MASK;
    if (!points_valid(pts, n) || (enc & ~(CHUNK_ENC_VALUE_MASK | CHUNK_TS_BASE)) != 0 ||
        venc > CHUNK_ENC_INT + CHUNK_MAX_SCALE)
        return SM_EINVAL;
    int k = venc - CHUNK_ENC_INT;
    int64_t m = 0, pm = 0;
    uint64_t step = 0;
    if (venc != CHUNK_ENC_XOR) {
        for (size_t i = 0; i < n; i++) {
            if (!scale_of(pts[i].v, k, &m))
                return SM_EINVAL;
            /* The values' steps share a factor (pages of 4096 bytes, say): keep it once. */
            if (i > 0)
                step = gcd_u64(step, m >= pm ? (uint64_t)(m - pm) : (uint64_t)(pm - m));
            pm = m;
        }
        pm = 0;
        if (step >= 2)
            enc |= CHUNK_INT_STEP;
        else
            step = 1;
    }
    int64_t base = (enc & CHUNK_TS_BASE) ? median_delta(pts, n) : 0;

    size_t cap = CHUNK_MAX_BYTES - ((size_t)CHUNK_MAX_POINTS - n) * 19;
    struct bitw w = {sm_xcalloc(cap, 1), 0};
    size_t h = 0;
    w.buf[h++] = CHUNK_VERSION;
    w.buf[h++] = (uint8_t)enc;
    h += put_varint(w.buf + h, n);
    h += put_varint(w.buf + h, (uint64_t)pts[0].t);
    if (enc & CHUNK_TS_BASE)
        h += put_varint(w.buf + h, (uint64_t)base);
    if (enc & CHUNK_INT_STEP)
        h += put_varint(w.buf + h, step);
    w.bit = h * 8;

    int64_t pdelta = 0;
    uint64_t pbits = 0;
    int plead = 0, psig = 0, pwidth = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            int64_t delta = pts[i].t - pts[i - 1].t;
            put_code(&w, ts_widths, NTS, delta - (base ? base : pdelta));
            pdelta = delta;
        }
        uint64_t vb = dbits(pts[i].v);
        if (venc != CHUNK_ENC_XOR) {
            (void)scale_of(pts[i].v, k, &m);
            put_int(&w, i == 0 ? m : (m - pm) / (int64_t)step, &pwidth);
            pm = m;
        } else if (i == 0) {
            bitw_put(&w, vb, 64);
        } else {
            uint64_t x = vb ^ pbits;
            if (x == 0) {
                bitw_put(&w, 0, 1);
            } else {
                int lead = __builtin_clzll(x), trail = __builtin_ctzll(x);
                if (lead > 31)
                    lead = 31;
                if (psig > 0 && lead >= plead && trail >= 64 - plead - psig) {
                    bitw_put(&w, 2, 2); /* '10': the last window */
                    bitw_put(&w, x >> (64 - plead - psig), psig);
                } else {
                    int sig = 64 - lead - trail;
                    bitw_put(&w, 3, 2); /* '11': a new window */
                    bitw_put(&w, (uint64_t)lead, 5);
                    bitw_put(&w, (uint64_t)(sig & 63), 6);
                    bitw_put(&w, x >> trail, sig);
                    plead = lead;
                    psig = sig;
                }
            }
        }
        pbits = vb;
    }
    *len = (w.bit + 7) / 8;
    *out = sm_xreallocarray(w.buf, *len, 1);
    return SM_OK;
}

void
chunk_builder_init(struct chunk_builder *b)
{
    b->pts = NULL;
    b->n = b->cap = 0;
}

void
chunk_builder_done(struct chunk_builder *b)
{
    free(b->pts);
    chunk_builder_init(b);
}

enum sm_rc
chunk_append(struct chunk_builder *b, int64_t t, double v)
{
    if (t < 0 || t > CHUNK_T_MAX)
        return SM_EINVAL;
    if (b->n > 0) {
        const struct chunk_point *last = &b->pts[b->n - 1];
        if (t < last->t)
            return SM_EINVAL;
        if (t == last->t)
            return dbits(v) == dbits(last->v) ? SM_OK : SM_ECONFLICT;
    }
    if (b->n >= CHUNK_MAX_POINTS)
        return SM_ETOOBIG;
    b->pts = sm_xgrow(b->pts, &b->cap, b->n + 1, sizeof *b->pts);
    b->pts[b->n].t = t;
    b->pts[b->n].v = v;
    b->n++;
    return SM_OK;
}

enum sm_rc
chunk_encode_best(const struct chunk_point *pts, size_t n, uint8_t **out, size_t *len)
{
    uint8_t *best = NULL;
    size_t blen = 0;

    if (n == 0)
        return SM_EINVAL;
    /* Every combination of timestamp and value encoding; the smallest wins. */
    int k = int_scale(pts, n);
    int encs[4] = {CHUNK_ENC_XOR, CHUNK_ENC_XOR | CHUNK_TS_BASE, -1, -1};
    if (k >= 0) {
        encs[2] = CHUNK_ENC_INT + k;
        encs[3] = (CHUNK_ENC_INT + k) | CHUNK_TS_BASE;
    }
    for (int e = 0; e < 4; e++) {
        uint8_t *y;
        size_t ylen;
        if (encs[e] < 0 || chunk_encode(pts, n, encs[e], &y, &ylen) != SM_OK)
            continue;
        if (best == NULL || ylen < blen) {
            free(best);
            best = y;
            blen = ylen;
        } else {
            free(y);
        }
    }
    if (best == NULL)
        return SM_EINVAL; /* points out of order or range: valid ones always encode as XOR */
    *out = best;
    *len = blen;
    return SM_OK;
}

enum sm_rc
chunk_seal(struct chunk_builder *b, uint8_t **out, size_t *len)
{
    enum sm_rc rc = chunk_encode_best(b->pts, b->n, out, len);
    if (rc == SM_OK)
        b->n = 0;
    return rc;
}

/*---------------------------------------------------------------- decoder */

enum sm_rc
chunk_iter_init(struct chunk_iter *it, const uint8_t *buf, size_t len)
{
    size_t pos = 2;
    uint64_t count, t, base = 0, step = 1;

    memset(it, 0, sizeof *it);
    it->done = 1;
    it->count = 0; /* a failed init leaves an iterator that reports damage */
    if (len > CHUNK_MAX_BYTES)
        return SM_ETOOBIG;
    if (len < 4 || buf[0] != CHUNK_VERSION)
        return SM_EPARSE;
    int enc = buf[1], venc = enc & CHUNK_ENC_VALUE_MASK;
    if ((enc & ~(CHUNK_ENC_VALUE_MASK | CHUNK_TS_BASE | CHUNK_INT_STEP)) != 0 ||
        venc > CHUNK_ENC_INT + CHUNK_MAX_SCALE || ((enc & CHUNK_INT_STEP) && venc == CHUNK_ENC_XOR))
        return SM_EPARSE;
    if (!get_varint(buf, len, &pos, CHUNK_MAX_POINTS, &count) || count == 0)
        return SM_EPARSE;
    if (!get_varint(buf, len, &pos, (uint64_t)CHUNK_T_MAX, &t))
        return SM_EPARSE;
    if ((enc & CHUNK_TS_BASE) &&
        (!get_varint(buf, len, &pos, (uint64_t)CHUNK_T_MAX, &base) || base == 0))
        return SM_EPARSE;
    if ((enc & CHUNK_INT_STEP) &&
        (!get_varint(buf, len, &pos, (uint64_t)INT_MAX_ABS * 2, &step) || step < 2))
        return SM_EPARSE;
    it->buf = buf;
    it->len = len;
    it->bit = pos * 8;
    it->count = (uint32_t)count;
    it->done = 0;
    it->enc = venc == CHUNK_ENC_XOR ? CHUNK_ENC_XOR : CHUNK_ENC_INT;
    it->scale = venc - CHUNK_ENC_INT;
    it->base = (int64_t)base;
    it->step = (int64_t)step;
    it->t = (int64_t)t;
    return SM_OK;
}

/* The chunk ends exactly at the byte that holds its last bit, padded with zeros. */
static bool
iter_end_ok(const struct chunk_iter *it)
{
    size_t used = (it->bit + 7) / 8;
    if (used != it->len)
        return false;
    int pad = (int)(used * 8 - it->bit);
    return pad == 0 || (it->buf[it->len - 1] & ((1u << pad) - 1)) == 0;
}

static int
iter_fail(struct chunk_iter *it)
{
    it->done = it->count + 1;
    return -1;
}

int
chunk_iter_next(struct chunk_iter *it, struct chunk_point *p)
{
    uint64_t b, u;
    int64_t d;

    if (it->done > it->count || it->buf == NULL)
        return -1;
    if (it->done == it->count) {
        if (!iter_end_ok(it))
            return iter_fail(it);
        return 0;
    }
    if (it->done > 0) {
        int64_t delta, t;
        if (!get_code(it, ts_widths, NTS, &d) ||
            __builtin_add_overflow(it->base ? it->base : it->delta, d, &delta) || delta <= 0 ||
            delta > CHUNK_T_MAX || __builtin_add_overflow(it->t, delta, &t) || t > CHUNK_T_MAX)
            return iter_fail(it);
        it->t = t;
        it->delta = delta;
    }
    if (it->enc == CHUNK_ENC_INT) {
        int64_t m;
        if (!get_int(it, &d) || (it->done > 0 && __builtin_mul_overflow(d, it->step, &d)) ||
            __builtin_add_overflow(it->m, d, &m) || m > INT_MAX_ABS || m < -INT_MAX_ABS)
            return iter_fail(it);
        it->m = m;
        p->v = unscale(m, it->scale);
    } else if (it->done == 0) {
        if (!iter_get(it, 64, &it->vbits))
            return iter_fail(it);
        p->v = bitsd(it->vbits);
    } else {
        if (!iter_get(it, 1, &b))
            return iter_fail(it);
        if (b == 1) {
            if (!iter_get(it, 1, &b))
                return iter_fail(it);
            if (b == 1) {
                uint64_t lead, sig;
                if (!iter_get(it, 5, &lead) || !iter_get(it, 6, &sig))
                    return iter_fail(it);
                if (sig == 0)
                    sig = 64;
                if (lead + sig > 64)
                    return iter_fail(it);
                it->lead = (int)lead;
                it->sig = (int)sig;
            } else if (it->sig == 0) {
                return iter_fail(it); /* no window to reuse yet */
            }
            if (!iter_get(it, it->sig, &u))
                return iter_fail(it);
            int shift = 64 - it->lead - it->sig;
            it->vbits ^= u << shift;
        }
        p->v = bitsd(it->vbits);
    }
    p->t = it->t;
    it->done++;
    return 1;
}

enum sm_rc
chunk_decode(const uint8_t *buf, size_t len, struct chunk_point **pts, size_t *n)
{
    struct chunk_iter it;
    enum sm_rc rc;
    int r;

    *pts = NULL;
    *n = 0;
    rc = chunk_iter_init(&it, buf, len);
    if (rc != SM_OK)
        return rc;
    /* Every point costs at least one bit: a count larger than the bits is damage, found
     * before allocating for it. */
    if (it.count > (len - it.bit / 8) * 8 + 1)
        return SM_EPARSE;
    struct chunk_point *a = sm_xreallocarray(NULL, it.count, sizeof *a);
    size_t i = 0;
    while ((r = chunk_iter_next(&it, &a[i < it.count ? i : 0])) == 1)
        i++;
    if (r < 0) {
        free(a);
        return SM_EPARSE;
    }
    *pts = a;
    *n = i;
    return SM_OK;
}
