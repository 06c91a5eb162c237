/* xmalloc.c: allocation wrappers that abort on failure, and a safe string copy. */
#include "config.h"

#include "xmalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
oom(size_t size)
{
    fprintf(stderr, "out of memory allocating %zu bytes\n", size);
    abort();
}

void *
sm_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (p == NULL)
        oom(size);
    return p;
}

void *
sm_xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (p == NULL)
        oom(nmemb * size);
    return p;
}

void *
sm_xreallocarray(void *ptr, size_t nmemb, size_t size)
{
    if (size != 0 && nmemb > SIZE_MAX / size)
        oom(SIZE_MAX);
    size_t total = nmemb * size;
    void *p = realloc(ptr, total ? total : 1);
    if (p == NULL)
        oom(total);
    return p;
}

void *
sm_xgrow(void *arr, size_t *cap, size_t n, size_t size)
{
    if (n <= *cap)
        return arr;
    size_t c = *cap ? *cap : 4;
    while (c < n)
        c = c > SIZE_MAX / 2 ? n : c * 2;
    arr = sm_xreallocarray(arr, c, size);
    memset((char *)arr + *cap * size, 0, (c - *cap) * size);
    *cap = c;
    return arr;
}

char *
sm_xstrdup(const char *s)
{
    return sm_xstrndup(s, strlen(s));
}

char *
sm_xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = sm_xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *
sm_xvasprintf(const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        abort();
    char *p = sm_xmalloc((size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *
sm_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = sm_xvasprintf(fmt, ap);
    va_end(ap);
    return p;
}

size_t
sm_strlcpy(char *dst, const char *src, size_t dstsz)
{
    size_t len = strlen(src);
    if (dstsz > 0) {
        size_t n = len < dstsz - 1 ? len : dstsz - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}
