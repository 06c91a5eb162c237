/* util.h: small helpers shared by the Linux readers under lib/collect (not a public API).
 *
 * Every read is bounded by the caller's buffer; nothing here allocates except
 * sm_cu_read_grow, which grows a caller-owned buffer up to a cap. */
#ifndef SM_LIB_COLLECT_UTIL_H
#define SM_LIB_COLLECT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Open root/rel read-only (close-on-exec); -1 with errno on failure. */
int sm_cu_open(const char *root, const char *rel);

/* pread fd from offset 0 into buf (at most bufsz - 1 bytes, NUL-terminated), stopping at
 * the first short read. Returns the length, or -1 with errno. A longer file is cut at
 * bufsz - 1 bytes. */
ssize_t sm_cu_pread(int fd, char *buf, size_t bufsz);

/* pread all of fd into *buf (capacity *cap, grown by doubling up to max bytes).
 * Returns the length (NUL-terminated) or -1 (errno E2BIG when over max). */
ssize_t sm_cu_pread_grow(int fd, char **buf, size_t *cap, size_t max);

/* Read dirfd/rel into out (outsz), trailing blanks and newlines removed. 0 or -1. */
int sm_cu_read_at(int dirfd, const char *rel, char *out, size_t outsz);

/* Read dirfd/rel as a signed decimal integer. 0 or -1 (missing, unreadable, not a number). */
int sm_cu_read_i64_at(int dirfd, const char *rel, int64_t *out);

/* Parse an unsigned decimal at *p after blanks; advances *p; saturates at UINT64_MAX. */
uint64_t sm_cu_parse_u64(const char **p);

/* Copy len bytes of src into dst (dstsz >= 1) for display: valid UTF-8 is kept, each
 * control character (C0, DEL, C1) becomes a space when it is a newline or tab and '?'
 * otherwise, and each byte of an invalid UTF-8 sequence becomes '?'. A multibyte
 * character never is cut in half at the end. Returns the bytes written. */
size_t sm_cu_sanitize(char *dst, size_t dstsz, const char *src, size_t len);

#endif
