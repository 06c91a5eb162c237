/* xmalloc.h: allocation that never returns NULL (it aborts on out-of-memory). */
#ifndef SM_LIB_XMALLOC_H
#define SM_LIB_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *sm_xmalloc(size_t size);
void *sm_xcalloc(size_t nmemb, size_t size);
/* Resize ptr to nmemb * size bytes; aborts on overflow or out-of-memory. */
void *sm_xreallocarray(void *ptr, size_t nmemb, size_t size);
/* Grow arr (of *cap elements of size) to hold at least n, doubling; the new space is
 * zeroed and *cap updated. Returns arr unchanged when it is big enough. */
void *sm_xgrow(void *arr, size_t *cap, size_t n, size_t size);
char *sm_xstrdup(const char *s);
char *sm_xstrndup(const char *s, size_t n);
/* Allocate and format; the caller frees the result. */
char *sm_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *sm_xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Copy src into dst of size dstsz, always NUL-terminated; returns strlen(src). */
size_t sm_strlcpy(char *dst, const char *src, size_t dstsz);

#endif
