/* buf.h: a growing byte buffer with a size cap fixed at init, and optional wiping. */
#ifndef SM_LIB_BUF_H
#define SM_LIB_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "rc.h"

/* Zero the memory before it is given back (each growth and the final free), and the
 * old contents on reset: for buffers that may hold passwords or tokens. */
#define SM_BUF_WIPE 1u

/* An embedded buffer. Read data and len directly; change them only through the
 * functions below. data is NULL until the first byte is added, then always
 * NUL-terminated (the NUL is not counted in len, nor in the cap). */
struct sm_buf {
    char *data;
    size_t len;   /* bytes held */
    size_t alloc; /* bytes allocated at data */
    size_t max;   /* len never exceeds this */
    unsigned flags;
};

/* Start an empty buffer that holds at most max bytes (SM_BUF_WIPE or 0 in flags).
 * Allocates nothing. */
void sm_buf_init(struct sm_buf *b, size_t max, unsigned flags);
/* Free the memory (wiped first with SM_BUF_WIPE); the buffer is empty and may be
 * used again. NULL is a no-op. */
void sm_buf_done(struct sm_buf *b);
/* Empty the buffer but keep its memory for the next appends (the old contents are
 * zeroed with SM_BUF_WIPE). */
void sm_buf_reset(struct sm_buf *b);

/* Append n bytes of data (which may hold NULs). SM_ETOOBIG when len + n would pass
 * the cap: the buffer is then unchanged. Aborts on out-of-memory. */
enum sm_rc sm_buf_add(struct sm_buf *b, const void *data, size_t n) SM_MUST_CHECK;
/* Append a NUL-terminated string: sm_buf_add of its bytes, without the NUL. */
enum sm_rc sm_buf_adds(struct sm_buf *b, const char *s) SM_MUST_CHECK;
/* Append printf-formatted text; SM_ETOOBIG (buffer unchanged) past the cap. */
enum sm_rc sm_buf_addf(struct sm_buf *b, const char *fmt, ...) SM_MUST_CHECK
    __attribute__((format(printf, 2, 3)));
enum sm_rc sm_buf_vaddf(struct sm_buf *b, const char *fmt, va_list ap) SM_MUST_CHECK
    __attribute__((format(printf, 2, 0)));

/* Make room for n more bytes (and the NUL) at data + len without adding them, for a
 * read straight into the buffer; then sm_buf_added(b, got) with got <= n. SM_ETOOBIG
 * (nothing changed) when len + n would pass the cap. */
enum sm_rc sm_buf_reserve(struct sm_buf *b, size_t n) SM_MUST_CHECK;
/* Count n bytes written at data + len after sm_buf_reserve, and NUL-terminate. */
void sm_buf_added(struct sm_buf *b, size_t n);

/* Hand the contents out (NUL-terminated; "" when empty, never NULL); the caller frees
 * them (and wipes them first if they need it). The buffer is left empty. */
char *sm_buf_take(struct sm_buf *b);

#endif
