/* fuzz_chunk.c: libFuzzer harness for the chunk codec (smserver/chunk.c).
 * Oracles: (1) any bytes decode to SM_EPARSE or to points that keep the chunk's rules
 * (times increasing, in range), and those points encode again and decode to the same
 * bits; (2) the input read as points (a first byte choosing how the values are made)
 * goes through chunk_append and chunk_seal and decodes to exactly the points accepted. */
#include "config.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t
bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static bool
same(const struct chunk_point *a, const struct chunk_point *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].t != b[i].t || bits(a[i].v) != bits(b[i].v))
            return false;
    return true;
}

/* Encode pts with enc, decode, and abort unless the points come back bit for bit. */
static void
round_trip(const struct chunk_point *pts, size_t n, int enc)
{
    uint8_t *buf;
    size_t len, m;
    struct chunk_point *back;

    if (chunk_encode(pts, n, enc, &buf, &len) != SM_OK) {
        if (enc == CHUNK_ENC_XOR)
            abort(); /* valid points always encode as XOR */
        return;
    }
    if (len > CHUNK_MAX_BYTES || chunk_decode(buf, len, &back, &m) != SM_OK || m != n ||
        !same(back, pts, n))
        abort();
    free(back);
    free(buf);
}

static void
decode_bytes(const uint8_t *data, size_t size)
{
    struct chunk_point *pts;
    size_t n;
    enum sm_rc rc = chunk_decode(data, size, &pts, &n);
    if (rc != SM_OK) {
        if ((rc != SM_EPARSE && rc != SM_ETOOBIG) || pts != NULL)
            abort();
        return;
    }
    if (n < 1 || n > CHUNK_MAX_POINTS)
        abort();
    for (size_t i = 0; i < n; i++)
        if (pts[i].t < 0 || pts[i].t > CHUNK_T_MAX || (i > 0 && pts[i].t <= pts[i - 1].t))
            abort();
    round_trip(pts, n, CHUNK_ENC_XOR);
    round_trip(pts, n, data[1] & ~CHUNK_INT_STEP);
    round_trip(pts, n, (data[1] & ~CHUNK_INT_STEP) ^ CHUNK_TS_BASE);
    free(pts);
}

/* Read n bytes little-endian from *p (fewer when the input ends). */
static uint64_t
take(const uint8_t **p, const uint8_t *end, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n && *p < end; i++)
        v |= (uint64_t) * (*p)++ << (8 * i);
    return v;
}

static void
encode_points(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    int mode = (int)take(&p, end, 1);
    struct chunk_builder b;
    struct chunk_point *want = NULL;
    size_t nwant = 0, cap = 0;
    int64_t t = (int64_t)(take(&p, end, 6) & (((uint64_t)1 << 44) - 1));

    chunk_builder_init(&b);
    while (p < end && nwant < CHUNK_MAX_POINTS) {
        uint64_t g = take(&p, end, 2);
        double v;
        /* Steps: mostly small, some repeats, some backwards, some huge. */
        if ((g & 0xf000) == 0xf000)
            t += (int64_t)((g & 0xfff) << 30);
        else if ((g & 0xf000) == 0xe000)
            t -= (int64_t)(g & 0xfff);
        else
            t += (int64_t)(g & 0x1fff);
        if (t > CHUNK_T_MAX + 100000)
            t = CHUNK_T_MAX - 10;
        switch (mode & 3) {
        case 0: /* any double, NaNs and all */
            v = 0;
            {
                uint64_t u = take(&p, end, 8);
                memcpy(&v, &u, sizeof v);
            }
            break;
        case 1: /* integers */
            v = (double)(int32_t)take(&p, end, 4);
            break;
        case 2: /* decimals of a few digits */
            v = (double)(int32_t)take(&p, end, 4) / pow(10, (mode >> 2) % 10);
            break;
        default: /* small changes of a float */
            v = (double)(int8_t)take(&p, end, 1) * 0.25 + 1e-3 * (mode >> 2);
        }
        enum sm_rc rc = chunk_append(&b, t, v);
        bool in_order = t >= 0 && t <= CHUNK_T_MAX && (nwant == 0 || t > want[nwant - 1].t);
        bool resend = nwant > 0 && t == want[nwant - 1].t;
        if (in_order) {
            if (rc != SM_OK)
                abort();
            want = sm_xgrow(want, &cap, nwant + 1, sizeof *want);
            want[nwant].t = t;
            want[nwant].v = v;
            nwant++;
        } else if (resend) {
            if (rc != (bits(v) == bits(want[nwant - 1].v) ? SM_OK : SM_ECONFLICT))
                abort();
        } else if (rc != SM_EINVAL) {
            abort();
        }
        if (b.n != nwant)
            abort();
        if (t < 0 || t > CHUNK_T_MAX)
            t = nwant ? want[nwant - 1].t : 0;
    }
    if (nwant > 0) {
        uint8_t *buf, *xbuf;
        size_t len, xlen, n;
        struct chunk_point *back;
        if (chunk_seal(&b, &buf, &len) != SM_OK || b.n != 0)
            abort();
        if (chunk_decode(buf, len, &back, &n) != SM_OK || n != nwant || !same(back, want, n))
            abort();
        if (chunk_encode(want, nwant, CHUNK_ENC_XOR, &xbuf, &xlen) != SM_OK || len > xlen)
            abort();
        free(xbuf);
        free(back);
        free(buf);
    } else {
        uint8_t *buf;
        size_t len;
        if (chunk_seal(&b, &buf, &len) != SM_EINVAL)
            abort();
    }
    free(want);
    chunk_builder_done(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_bytes(data, size);
    if (size > 0)
        encode_points(data, size);
    return 0;
}
