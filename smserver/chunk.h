/* chunk.h: the compressed chunk of one series over a time window.
 *
 * A chunk holds the points (millisecond timestamp, double value) of one series in
 * strictly increasing time order. Timestamps are stored as deltas of deltas; values
 * either as the XOR of each double with the one before (the Gorilla paper's scheme) or,
 * when every value is a decimal with few digits (bytes/s, MHz, percent to 0.01), as
 * the deltas of those values scaled to integers. chunk_seal encodes both ways and
 * keeps the smaller, so a chunk never costs more than XOR alone plus one byte.
 *
 * Layout (version 1); varints are LEB128 (minimal), bits are written most significant first:
 *   byte 0      CHUNK_VERSION
 *   byte 1      value encoding (low 4 bits): CHUNK_ENC_XOR, or CHUNK_ENC_INT + k where
 *               the values are integers m with value == m / 10^k exactly (0 <= k <=
 *               CHUNK_MAX_SCALE); flags CHUNK_TS_BASE and (INT only) CHUNK_INT_STEP
 *   varint      point count, 1 .. CHUNK_MAX_POINTS
 *   varint      first timestamp, 0 .. CHUNK_T_MAX
 *   varint      with CHUNK_TS_BASE: the base delta, 1 .. CHUNK_T_MAX
 *   varint      with CHUNK_INT_STEP: the step, 2 .. 2^54 (each delta of m is n * step)
 *   bits        per point: the timestamp's delta of delta, or its delta minus the base
 *               (not for the first point),
 *               then the value (XOR: 64 raw bits first, then '0' for the same value, or
 *               '1' and the changed bits; INT: the delta of m, zigzagged, '0' for none
 *               or '1' and its bits, in the last width or a new one); padding bits of the last byte
 * are zero and nothing follows it. The decoder checks every one of these, and that each timestamp
 * is greater than the one before and within range: any damage is SM_EPARSE, never a read past the
 * buffer.
 *
 * Nothing here is shared between threads: a builder or an iterator belongs to its caller.
 */
#ifndef SM_SMSERVER_CHUNK_H
#define SM_SMSERVER_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "rc.h"

#define CHUNK_VERSION 1
#define CHUNK_ENC_XOR 0
#define CHUNK_ENC_INT 1
#define CHUNK_MAX_SCALE 9
#define CHUNK_ENC_VALUE_MASK 0x0f
/* Flags of the encoding byte: timestamps as their delta minus a base delta (the median,
 * in the header) rather than the delta of deltas; INT steps as multiples of a common
 * factor (in the header; chunk_encode finds it itself). */
#define CHUNK_TS_BASE 0x10
#define CHUNK_INT_STEP 0x20
/* At most this many points per chunk (18 hours at 1 Hz). */
#define CHUNK_MAX_POINTS 65536
/* Timestamps are milliseconds in [0, CHUNK_T_MAX] (2^53 ms: the year 287 000). */
#define CHUNK_T_MAX ((int64_t)1 << 53)
/* Largest encoded chunk: header, then at most 69 timestamp bits and 77 value bits a point. */
#define CHUNK_MAX_BYTES (32 + (size_t)CHUNK_MAX_POINTS * 19)

struct chunk_point {
    int64_t t; /* milliseconds since the epoch */
    double v;
};

/* The open window of one series: points appended in time order, encoded by chunk_seal. */
struct chunk_builder {
    struct chunk_point *pts;
    size_t n, cap;
};

/* A cursor over an encoded chunk; the buffer is borrowed and must outlive it. */
struct chunk_iter {
    const uint8_t *buf;
    size_t len;
    size_t bit;       /* next bit to read, counted from the start of buf */
    uint32_t count;   /* points in the chunk */
    uint32_t done;    /* points returned so far */
    int enc;          /* CHUNK_ENC_XOR or CHUNK_ENC_INT */
    int scale;        /* k of CHUNK_ENC_INT */
    int64_t t, delta; /* the last timestamp and the delta that led to it */
    uint64_t vbits;   /* XOR: the last value's bits */
    int lead, sig;    /* XOR: the last window of meaningful bits (sig 0: none yet) */
    int64_t m;        /* INT: the last scaled integer */
    int64_t step;     /* INT: the factor of every delta of m after the first value */
    int64_t base;     /* CHUNK_TS_BASE: the base delta (0: deltas of deltas) */
    int width;        /* INT: the last width of a delta (0: none yet) */
};

/* Start an empty window. */
void chunk_builder_init(struct chunk_builder *b);

/* Free the window's points; b may be reused after chunk_builder_init. */
void chunk_builder_done(struct chunk_builder *b);

/* Append the point (t, v) to the window. Returns SM_EINVAL when t is outside
 * [0, CHUNK_T_MAX] or earlier than the last point's (reordered points are refused: the
 * caller decodes, merges and encodes again); a point at the last point's time with the same
 * value bits is a resend and is ignored (SM_OK), with other bits SM_ECONFLICT; SM_ETOOBIG
 * when the window already holds CHUNK_MAX_POINTS. The window is unchanged on error. */
enum sm_rc chunk_append(struct chunk_builder *b, int64_t t, double v) SM_MUST_CHECK;

/* Encode the window into a new buffer (*out, *len; the caller frees *out) with whichever
 * value encoding is smaller, and empty the window. SM_EINVAL when the window is empty. */
enum sm_rc chunk_seal(struct chunk_builder *b, uint8_t **out, size_t *len) SM_MUST_CHECK;

/* Encode n points (as chunk_encode requires them) with whichever encoding is smallest,
 * as chunk_seal does, into a new buffer (*out, *len; the caller frees *out). SM_EINVAL
 * when n is 0 or the points break chunk_encode's rules. */
enum sm_rc chunk_encode_best(const struct chunk_point *pts, size_t n, uint8_t **out,
                             size_t *len) SM_MUST_CHECK;

/* Encode n points (strictly increasing times in range, 1 <= n <= CHUNK_MAX_POINTS) with
 * value encoding enc (CHUNK_ENC_XOR, or CHUNK_ENC_INT + k; either may have CHUNK_TS_BASE
 * added, and CHUNK_INT_STEP is set by itself when it applies). SM_EINVAL when the points
 * break those rules or cannot be encoded exactly that way. The caller frees *out. */
enum sm_rc chunk_encode(const struct chunk_point *pts, size_t n, int enc, uint8_t **out,
                        size_t *len) SM_MUST_CHECK;

/* Check the header of the chunk buf[0..len) and set *it up before its first point.
 * SM_EPARSE when the header is damaged; SM_ETOOBIG when len > CHUNK_MAX_BYTES. */
enum sm_rc chunk_iter_init(struct chunk_iter *it, const uint8_t *buf, size_t len) SM_MUST_CHECK;

/* The next point into *p: returns 1 with a point, 0 after the last one (once the
 * chunk's end has been checked too), -1 when the chunk is damaged (and on every call
 * after that). */
int chunk_iter_next(struct chunk_iter *it, struct chunk_point *p) SM_MUST_CHECK;

/* Decode a whole chunk into a new array (*pts, *n; the caller frees *pts).
 * SM_EPARSE when it is damaged (then *pts is NULL), SM_ETOOBIG when too long. */
enum sm_rc chunk_decode(const uint8_t *buf, size_t len, struct chunk_point **pts,
                        size_t *n) SM_MUST_CHECK;

#endif
