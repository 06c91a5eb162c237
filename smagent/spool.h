/* spool.h: the on-disk spool of samples the server has not acknowledged.
 *
 * A directory of segment files (seg-NNNNNNNNNNNNNNNN) holding records framed as
 * [u32 length][u32 CRC-32 of the payload][payload], little-endian, and a cursor file
 * naming the first record not yet acknowledged. Records are read in the order they
 * were appended. The total size of the segments is capped: an append past the cap
 * deletes the oldest segments, and the number of unsent records lost that way is
 * counted (spool_take_dropped) for the caller to log.
 *
 * Durability policy: each append is written and fdatasync'ed before spool_append
 * returns (only samples that could not be delivered are spooled, so that is at most
 * one sync per interval). The cursor is rewritten after each acknowledged batch but
 * not synced: after a crash a few samples may be sent again, which the server stores
 * once. A record torn by a crash (short or with a bad checksum) at the end of the
 * newest segment is cut off at open; a bad record elsewhere is skipped when read.
 *
 * Not thread safe: one spool per process. */
#ifndef SM_SMAGENT_SPOOL_H
#define SM_SMAGENT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "rc.h"

/* The largest record accepted (a sample is a few KiB). */
#define SPOOL_RECORD_MAX (512 * 1024)
/* The smallest cap accepted by spool_open. */
#define SPOOL_MIN_MAX (16 * 1024)

struct spool;

/* A place in the spool: segment number and byte offset in it. */
struct spool_pos {
    uint64_t seg, off;
};

/* Records read by spool_peek, in order: record i is buf.data[off[i] .. off[i] + len[i]),
 * and buf.len bytes in all. */
struct spool_batch {
    struct sm_buf buf; /* no cap of its own: spool_peek's max_bytes plus one record */
    size_t n;
    size_t *off, *len;
    struct spool_pos *end;            /* position just after record i */
    size_t off_cap, len_cap, end_cap; /* of each array (sm_xgrow), all at least n */
};

/* Open (creating with mode 0700 if needed) the spool in dir, capped at max_bytes
 * (>= SPOOL_MIN_MAX). Cuts a torn record off the newest segment. On error returns
 * NULL and sets *cause (allocated). */
struct spool *spool_open(const char *dir, uint64_t max_bytes, char **cause);
/* Close; NULL is a no-op. Unsent records stay on disk. */
void spool_close(struct spool *sp);
/* Change the cap (takes effect at the next append). */
void spool_set_max(struct spool *sp, uint64_t max_bytes);

/* Append one record and sync it. SM_ETOOBIG if len > SPOOL_RECORD_MAX or larger than
 * the cap; SM_EIO on a write failure (the record is not stored). */
enum sm_rc spool_append(struct spool *sp, const void *data, size_t len) SM_MUST_CHECK;

/* Read up to max_n records totalling at most max_bytes (at least one record if any is
 * pending) from the cursor into b, without consuming them. Records with a bad
 * checksum are skipped (and counted in spool_take_corrupt). SM_OK with b->n == 0 when
 * nothing is pending. */
enum sm_rc spool_peek(struct spool *sp, size_t max_n, size_t max_bytes,
                      struct spool_batch *b) SM_MUST_CHECK;
/* Consume the first n records of b (from the last spool_peek): move the cursor after
 * them and delete segments left behind. */
enum sm_rc spool_consume(struct spool *sp, const struct spool_batch *b, size_t n) SM_MUST_CHECK;

/* 1 when no record is pending. */
int spool_empty(const struct spool *sp);
/* Bytes on disk in segments (pending and consumed records of live segments). */
uint64_t spool_bytes(const struct spool *sp);
/* Records dropped by the cap since the last call, and bad records skipped. */
uint64_t spool_take_dropped(struct spool *sp);
uint64_t spool_take_corrupt(struct spool *sp);

void spool_batch_init(struct spool_batch *b);
void spool_batch_done(struct spool_batch *b);

/* CRC-32 (IEEE 802.3, as zlib's crc32) of len bytes. */
uint32_t spool_crc32(const void *data, size_t len);

#endif
