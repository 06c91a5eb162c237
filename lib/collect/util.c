/* util.c: helpers shared by the Linux readers (see util.h). */
#include "config.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../xmalloc.h"

int
sm_cu_open(const char *root, const char *rel)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", root, rel);
    if (n < 0 || (size_t)n >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return open(path, O_RDONLY | O_CLOEXEC);
}

ssize_t
sm_cu_pread(int fd, char *buf, size_t bufsz)
{
    size_t len = 0;
    while (len + 1 < bufsz) {
        size_t want = bufsz - 1 - len;
        ssize_t n = pread(fd, buf + len, want, (off_t)len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        len += (size_t)n;
        /* A short read is the end: procfs and sysfs give all they have to a buffer that
         * is big enough (seq_file fills it), and so do regular files. This saves the
         * second, empty pread per file, which is a third of the cost of a /proc read. */
        if ((size_t)n < want)
            break;
    }
    buf[len] = '\0';
    return (ssize_t)len;
}

ssize_t
sm_cu_pread_grow(int fd, char **buf, size_t *cap, size_t max)
{
    if (*cap < 64) {
        *cap = 4096;
        *buf = sm_xreallocarray(*buf, *cap, 1);
    }
    for (;;) {
        ssize_t n = sm_cu_pread(fd, *buf, *cap);
        if (n < 0)
            return -1;
        if ((size_t)n + 1 < *cap)
            return n;
        if (*cap >= max) {
            errno = E2BIG;
            return -1;
        }
        *cap = *cap * 2 > max ? max : *cap * 2;
        *buf = sm_xreallocarray(*buf, *cap, 1);
    }
}

int
sm_cu_read_at(int dirfd, const char *rel, char *out, size_t outsz)
{
    int fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = sm_cu_pread(fd, out, outsz);
    int saved = errno;
    close(fd);
    if (n < 0) {
        errno = saved;
        return -1;
    }
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' ' || out[n - 1] == '\t'))
        out[--n] = '\0';
    return 0;
}

int
sm_cu_read_i64_at(int dirfd, const char *rel, int64_t *out)
{
    char val[64];
    if (sm_cu_read_at(dirfd, rel, val, sizeof val) != 0)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(val, &end, 10);
    if (end == val || *end != '\0' || errno != 0)
        return -1;
    *out = (int64_t)v;
    return 0;
}

uint64_t
sm_cu_parse_u64(const char **p)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    uint64_t v = 0;
    while (*s >= '0' && *s <= '9') {
        uint64_t d = (uint64_t)(*s - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
        s++;
    }
    *p = s;
    return v;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when invalid. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp, min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    if (cp >= 0x80 && cp <= 0x9f) /* C1 controls: terminals act on them */
        return 0;
    return len;
}

size_t
sm_cu_sanitize(char *dst, size_t dstsz, const char *src, size_t len)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0, i = 0;
    while (i < len && o + 1 < dstsz) {
        unsigned char c = s[i];
        if (c < 0x20 || c == 0x7f) {
            dst[o++] = (c == '\n' || c == '\t' || c == '\r') ? ' ' : '?';
            i++;
            continue;
        }
        size_t n = utf8_len(s + i, len - i);
        if (n == 0) {
            dst[o++] = '?';
            i++;
            continue;
        }
        if (o + n + 1 > dstsz)
            break;
        memcpy(dst + o, s + i, n);
        o += n;
        i += n;
    }
    dst[o] = '\0';
    return o;
}
