/* fuzz_blob.c: libFuzzer harness for the point blob of a sample row (smserver/history.h,
 * versions 1 and 2), which smserver, smserver migrate and the seal into chunks read
 * from the database. Oracles: (1) any bytes: check, decode and find agree, and a blob
 * they accept holds ids that increase from 1 and finite values, which encode again
 * (version 2 when the deltas allow it) and decode to the same bits; (2) the input read
 * as pairs (a first byte choosing how the values are made) encodes within
 * history_blob_bound and decodes to exactly the pairs the encoder keeps. */
#include "config.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Encode n pairs (ids increasing, values finite), decode, abort unless the same bits. */
static void
round_trip(const struct history_pair *pairs, size_t n)
{
    struct history_pair *in = sm_xreallocarray(NULL, n + 1, sizeof *in);
    struct history_pair *back = sm_xreallocarray(NULL, n + 1, sizeof *back);
    uint8_t *buf = sm_xmalloc(history_blob_bound(n));
    memcpy(in, pairs, n * sizeof *in);
    size_t len = history_blob_encode(in, n, buf), m = 0;
    if (len > history_blob_bound(n) || history_blob_decode(buf, len, back, n, &m) != SM_OK ||
        m != n)
        abort();
    for (size_t i = 0; i < n; i++)
        if (back[i].series != pairs[i].series || !same_bits(back[i].value, pairs[i].value))
            abort();
    free(buf);
    free(back);
    free(in);
}

/* Oracle 1: the bytes as a stored blob. */
static void
decode_bytes(const uint8_t *data, size_t size)
{
    size_t n = 0, m = 0;
    enum sm_rc crc = history_blob_check(data, size, &n);
    /* A pair takes at least 2 bytes, so size / 2 + 1 is room for any blob's count. */
    size_t cap = size / 2 + 1;
    struct history_pair *out = sm_xreallocarray(NULL, cap, sizeof *out);
    enum sm_rc drc = history_blob_decode(data, size, out, cap, &m);
    if ((crc == SM_OK) != (drc == SM_OK) || (crc != SM_OK && crc != SM_EINVAL) ||
        (drc != SM_OK && drc != SM_EINVAL))
        abort();
    if (drc == SM_OK) {
        if (m != n || m > HISTORY_BLOB_POINTS_MAX)
            abort();
        for (size_t i = 0; i < m; i++) {
            if (out[i].series < 1 || (i > 0 && out[i].series <= out[i - 1].series) ||
                !isfinite(out[i].value))
                abort();
            double v;
            /* find, for a few of them (it walks from the start each time) */
            if (i < 64 && (history_blob_find(data, size, out[i].series, &v) != SM_OK ||
                           !same_bits(v, out[i].value)))
                abort();
        }
        round_trip(out, m);
    } else {
        double v;
        enum sm_rc frc = history_blob_find(data, size, 1, &v);
        if (frc != SM_OK && frc != SM_ENOTFOUND && frc != SM_EINVAL)
            abort();
    }
    free(out);
}

/* Oracle 2: the bytes as pairs: 2 bytes of id delta and 8 of value material each; mode
 * (the first byte) picks raw doubles, integers, or decimals of 1 to 6 places. */
static void
encode_pairs(const uint8_t *data, size_t size)
{
    if (size < 1)
        return;
    unsigned mode = data[0] % 8;
    data++;
    size--;
    size_t n = size / 10;
    struct history_pair *p = sm_xreallocarray(NULL, n + 1, sizeof *p);
    struct history_pair *kept = sm_xreallocarray(NULL, n + 1, sizeof *kept);
    int64_t id = 0;
    size_t nk = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *b = data + i * 10;
        uint64_t u = 0;
        for (int k = 0; k < 8; k++)
            u |= (uint64_t)b[2 + k] << (8 * k);
        double v;
        if (mode == 0) {
            memcpy(&v, &u, sizeof v);
        } else {
            static const double scale[8] = {1, 1, 10, 100, 1e3, 1e4, 1e5, 1e6};
            int64_t m = (int64_t)(u >> 11) - (int64_t)(1ULL << 52); /* |m| <= 2^52 */
            if (b[2] & 1)
                m >>= (b[3] % 48); /* small numbers too */
            v = (double)m / scale[mode];
        }
        id += (int64_t)(b[0] | b[1] << 8); /* a delta of 0 repeats an id: dropped */
        p[i] = (struct history_pair){id, v};
        if (id >= 1 && (nk == 0 || kept[nk - 1].series != id) && isfinite(v))
            kept[nk++] = p[i];
    }
    uint8_t *buf = sm_xmalloc(history_blob_bound(n));
    size_t len = history_blob_encode(p, n, buf), m = 0;
    struct history_pair *back = sm_xreallocarray(NULL, nk + 1, sizeof *back);
    if (len > history_blob_bound(n) || history_blob_decode(buf, len, back, nk, &m) != SM_OK ||
        m != nk || buf[0] != HISTORY_BLOB_VERSION)
        abort();
    for (size_t i = 0; i < nk; i++)
        if (back[i].series != kept[i].series || !same_bits(back[i].value, kept[i].value))
            abort();
    free(back);
    free(buf);
    free(kept);
    free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_bytes(data, size);
    encode_pairs(data, size);
    return 0;
}
