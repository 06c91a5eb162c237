/* minute_pack.h: the minute rollups of one series over one hour, packed into one blob.
 *
 * A minute row of the SQLite minute tier cost about 32 bytes (key, count and three
 * doubles); at 1 Hz that was half a byte per raw point, as much as the sealed points
 * themselves. The SQLite backend now keeps one row per series and hour
 * (rollup_1m_hours, history.c) whose blob holds that hour's minutes: their count,
 * sum, min and max as four chunks of the chunk codec (chunk.h), with the minute of
 * the hour (0-59) as the chunk's time. Steady counts and the few decimals of min and
 * max take a few bits a minute.
 *
 * Layout (version 1), little-endian lengths:
 *   byte 0       MINUTE_PACK_VERSION
 *   3 x 2 bytes  the lengths of the n, sum and min chunks (the max chunk is the rest)
 *   4 chunks     n, sum, min, max: the same minutes (strictly increasing, 0-59), each
 *                n a whole number in [1, MINUTE_PACK_N_MAX]
 * The decoder checks every one of these: any damage is SM_EPARSE, never a read past the
 * buffer. Nothing here is shared between threads.
 */
#ifndef SM_SMSERVER_MINUTE_PACK_H
#define SM_SMSERVER_MINUTE_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "rc.h"

#define MINUTE_PACK_VERSION 1
/* A minute holds at most this many points (a point a millisecond). */
#define MINUTE_PACK_N_MAX 60000
/* Largest blob: the header, then four chunks of 60 points. */
#define MINUTE_PACK_MAX_BYTES (7 + 4 * (32 + 60 * 19))

/* One minute's aggregate; n == 0: no point in that minute. */
struct minute_agg {
    int64_t n;
    double sum, min, max;
};

/* Encode the minutes m[0..59] (those with n > 0; n at most MINUTE_PACK_N_MAX) into a
 * new buffer (*out, *len; the caller frees *out). SM_EINVAL when no minute has a point
 * or an n is out of range. */
enum sm_rc minute_pack_encode(const struct minute_agg m[60], uint8_t **out,
                              size_t *len) SM_MUST_CHECK;

/* Decode buf[0..len) into m[0..59] (minutes without a point get n == 0).
 * SM_EPARSE when the blob is damaged (m is then all empty). */
enum sm_rc minute_pack_decode(const uint8_t *buf, size_t len,
                              struct minute_agg m[60]) SM_MUST_CHECK;

/* The hour's aggregate of m[0..59] into *h (h->n == 0 when no minute has a point). */
void minute_pack_hour(const struct minute_agg m[60], struct minute_agg *h);

#endif
