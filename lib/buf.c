/* buf.c: the capped growing byte buffer (the cap is checked before anything changes). */
#include "config.h"

#include "buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

/* The first allocation: small replies and labels fit without growing. */
#define BUF_FIRST 256

/* Zero n bytes at p in a way the compiler may not drop. */
static void
wipe(void *p, size_t n)
{
#ifdef HAVE_EXPLICIT_BZERO
    explicit_bzero(p, n);
#else
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
#endif
}

void
sm_buf_init(struct sm_buf *b, size_t max, unsigned flags)
{
    b->data = NULL;
    b->len = b->alloc = 0;
    b->max = max < SIZE_MAX ? max : SIZE_MAX - 1; /* room for the NUL */
    b->flags = flags;
}

void
sm_buf_done(struct sm_buf *b)
{
    if (!b)
        return;
    if (b->data && (b->flags & SM_BUF_WIPE))
        wipe(b->data, b->alloc);
    free(b->data);
    b->data = NULL;
    b->len = b->alloc = 0;
}

void
sm_buf_reset(struct sm_buf *b)
{
    if (!b->data)
        return;
    if (b->flags & SM_BUF_WIPE)
        wipe(b->data, b->alloc); /* all of it: a refused addf may have written past len */
    b->len = 0;
    b->data[0] = '\0';
}

enum sm_rc
sm_buf_reserve(struct sm_buf *b, size_t n)
{
    if (n > b->max - b->len) /* len <= max always, so this cannot wrap */
        return SM_ETOOBIG;
    size_t need = b->len + n + 1; /* <= max + 1 <= SIZE_MAX */
    if (need <= b->alloc)
        return SM_OK;
    /* The first block fits need exactly (a body whose length was announced); later
     * ones double, so n appends cost O(n) copies. */
    size_t a = b->alloc ? b->alloc : (need > BUF_FIRST ? need : BUF_FIRST);
    while (a < need)
        a = a > SIZE_MAX / 2 ? need : a * 2;
    if (a > b->max + 1)
        a = b->max + 1;
    if (b->flags & SM_BUF_WIPE) {
        /* Not realloc: the old block would go back to the allocator unwiped. */
        char *nd = sm_xmalloc(a);
        if (b->data) {
            memcpy(nd, b->data, b->len + 1);
            wipe(b->data, b->alloc);
            free(b->data);
        }
        b->data = nd;
    } else {
        b->data = sm_xreallocarray(b->data, a, 1);
    }
    if (b->alloc == 0)
        b->data[0] = '\0';
    b->alloc = a;
    return SM_OK;
}

void
sm_buf_added(struct sm_buf *b, size_t n)
{
    b->len += n;
    b->data[b->len] = '\0';
}

enum sm_rc
sm_buf_add(struct sm_buf *b, const void *data, size_t n)
{
    enum sm_rc rc = sm_buf_reserve(b, n);
    if (rc != SM_OK)
        return rc;
    if (n)
        memcpy(b->data + b->len, data, n);
    sm_buf_added(b, n);
    return SM_OK;
}

enum sm_rc
sm_buf_adds(struct sm_buf *b, const char *s)
{
    return sm_buf_add(b, s, strlen(s));
}

enum sm_rc
sm_buf_vaddf(struct sm_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    /* Try the room already there first: most appends fit and format only once. */
    size_t room = b->alloc > b->len ? b->alloc - b->len : 0;
    char scratch[1];
    int n = vsnprintf(room ? b->data + b->len : scratch, room ? room : sizeof scratch, fmt, ap);
    if (n < 0) {
        va_end(ap2);
        if (b->data)
            b->data[b->len] = '\0';
        return SM_EINVAL; /* a bad format or a wide character that does not convert */
    }
    if ((size_t)n < room) {
        va_end(ap2);
        if ((size_t)n > b->max - b->len) { /* it fit in memory but not under the cap */
            b->data[b->len] = '\0';
            return SM_ETOOBIG;
        }
        b->len += (size_t)n;
        return SM_OK;
    }
    if (b->data)
        b->data[b->len] = '\0'; /* vsnprintf wrote a cut copy past len */
    enum sm_rc rc = sm_buf_reserve(b, (size_t)n);
    if (rc == SM_OK) {
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
    return rc;
}

enum sm_rc
sm_buf_addf(struct sm_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum sm_rc rc = sm_buf_vaddf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *
sm_buf_take(struct sm_buf *b)
{
    char *d = b->data ? b->data : sm_xstrdup("");
    b->data = NULL;
    b->len = b->alloc = 0;
    return d;
}
