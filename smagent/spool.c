/* spool.c: segment files of length- and CRC-framed records, a cursor, a byte cap.
 * The format and the fsync policy are described in spool.h. */
#include "config.h"

#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "xmalloc.h"

#define HDR 8
#define CURSOR_FILE "cursor"
#define CURSOR_SIZE 20
#define SEG_PREFIX "seg-"
#define SEG_MIN (4 * 1024)
#define SEG_MAX (8 * 1024 * 1024)

struct seg {
    uint64_t no;
    uint64_t size;
};

struct spool {
    char *dir;
    int dirfd;
    uint64_t max, seg_max;
    struct seg *segs; /* ascending by number */
    size_t nsegs, segcap;
    uint64_t next_no; /* number of the next segment to create */
    int wfd;          /* newest segment, for appending; -1 when closed */
    int rfd;          /* a segment being read; -1 when closed */
    uint64_t rfd_no;
    uint64_t cur_seg, cur_off; /* first record not acknowledged */
    int cursor_fd;
    uint64_t total;
    uint64_t dropped, corrupt;
};

static uint32_t crc_table[256];

static void
crc_init(void)
{
    if (crc_table[1])
        return;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t
spool_crc32(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint32_t c = 0xFFFFFFFFu;
    crc_init();
    for (size_t i = 0; i < len; i++)
        c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static void
put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t
get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t
get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void
seg_name(char *buf, size_t size, uint64_t no)
{
    snprintf(buf, size, SEG_PREFIX "%016" PRIx64, no);
}

/* Read exactly len bytes at off; returns bytes read (short at end of file), -1 on error. */
static ssize_t
pread_full(int fd, void *buf, size_t len, uint64_t off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static int
open_seg(struct spool *sp, uint64_t no, int flags)
{
    char name[64];
    seg_name(name, sizeof name, no);
    return openat(sp->dirfd, name, flags | O_CLOEXEC, 0600);
}

/* A read descriptor for segment no (cached). */
static int
read_fd(struct spool *sp, uint64_t no)
{
    if (sp->rfd >= 0 && sp->rfd_no == no)
        return sp->rfd;
    if (sp->rfd >= 0)
        close(sp->rfd);
    sp->rfd = open_seg(sp, no, O_RDONLY);
    sp->rfd_no = no;
    return sp->rfd;
}

static void
write_cursor(struct spool *sp)
{
    unsigned char b[CURSOR_SIZE];
    put64(b, sp->cur_seg);
    put64(b + 8, sp->cur_off);
    put32(b + 16, spool_crc32(b, 16));
    /* Not synced on purpose (spool.h): a lost update only means a resend. */
    if (sp->cursor_fd >= 0 && pwrite(sp->cursor_fd, b, sizeof b, 0) != (ssize_t)sizeof b) {
        /* The next consume writes it again; a stale cursor only means a resend. */
    }
}

/* Count the well-framed records of segment i from offset off. */
static uint64_t
count_records(struct spool *sp, size_t i, uint64_t off)
{
    uint64_t n = 0;
    int fd = read_fd(sp, sp->segs[i].no);
    unsigned char h[HDR];
    while (fd >= 0 && off + HDR <= sp->segs[i].size) {
        if (pread_full(fd, h, HDR, off) != HDR)
            break;
        uint32_t len = get32(h);
        if (len > SPOOL_RECORD_MAX || off + HDR + len > sp->segs[i].size)
            break;
        n++;
        off += HDR + len;
    }
    return n;
}

/* Remove segment i from disk and from the list. */
static void
remove_seg(struct spool *sp, size_t i)
{
    char name[64];
    if (sp->rfd >= 0 && sp->rfd_no == sp->segs[i].no) {
        close(sp->rfd);
        sp->rfd = -1;
    }
    if (i == sp->nsegs - 1 && sp->wfd >= 0) {
        close(sp->wfd);
        sp->wfd = -1;
    }
    seg_name(name, sizeof name, sp->segs[i].no);
    (void)unlinkat(sp->dirfd, name, 0);
    sp->total -= sp->segs[i].size;
    memmove(&sp->segs[i], &sp->segs[i + 1], (sp->nsegs - i - 1) * sizeof *sp->segs);
    sp->nsegs--;
}

/* Drop fully consumed segments and put the cursor on the first pending record's
 * segment. Returns 1 when the cursor moved. */
static int
normalize(struct spool *sp)
{
    int moved = 0;
    while (sp->nsegs > 0) {
        struct seg *s = &sp->segs[0];
        if (s->no < sp->cur_seg || (s->no == sp->cur_seg && sp->cur_off >= s->size)) {
            if (s->no == sp->cur_seg) {
                sp->cur_seg = s->no + 1;
                sp->cur_off = 0;
                moved = 1;
            }
            remove_seg(sp, 0);
            continue;
        }
        if (s->no > sp->cur_seg) {
            sp->cur_seg = s->no;
            sp->cur_off = 0;
            moved = 1;
        }
        break;
    }
    if (sp->nsegs == 0 && sp->cur_seg < sp->next_no) {
        sp->cur_seg = sp->next_no;
        sp->cur_off = 0;
        moved = 1;
    }
    return moved;
}

static int
seg_cmp(const void *a, const void *b)
{
    const struct seg *x = a, *y = b;
    return x->no < y->no ? -1 : x->no > y->no;
}

/* Cut a torn or corrupt last record off the newest segment. */
static enum sm_rc
repair_tail(struct spool *sp)
{
    if (sp->nsegs == 0)
        return SM_OK;
    struct seg *s = &sp->segs[sp->nsegs - 1];
    int fd = open_seg(sp, s->no, O_RDWR);
    if (fd < 0)
        return SM_EIO;
    uint64_t off = 0;
    unsigned char h[HDR];
    char *buf = NULL;
    while (off < s->size) {
        if (pread_full(fd, h, HDR, off) != HDR)
            break;
        uint32_t len = get32(h);
        if (len > SPOOL_RECORD_MAX || off + HDR + len > s->size)
            break;
        if (off + HDR + len == s->size) {
            /* The last record: check its sum (a crash may have left zeros). */
            buf = sm_xmalloc(len ? len : 1);
            if (pread_full(fd, buf, len, off + HDR) != (ssize_t)len ||
                spool_crc32(buf, len) != get32(h + 4))
                break;
        }
        off += HDR + len;
    }
    free(buf);
    enum sm_rc rc = SM_OK;
    if (off < s->size) {
        if (ftruncate(fd, (off_t)off) != 0 || fdatasync(fd) != 0)
            rc = SM_EIO;
        sp->total -= s->size - off;
        s->size = off;
        sp->corrupt++;
    }
    close(fd);
    return rc;
}

static enum sm_rc
mkdir_p(const char *dir)
{
    char *p = sm_xstrdup(dir);
    for (char *q = p + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            free(p);
            return SM_EIO;
        }
        *q = '/';
    }
    int r = mkdir(p, 0700);
    free(p);
    return r == 0 || errno == EEXIST ? SM_OK : SM_EIO;
}

struct spool *
spool_open(const char *dir, uint64_t max_bytes, char **cause)
{
    struct spool *sp = sm_xcalloc(1, sizeof *sp);
    sp->dir = sm_xstrdup(dir);
    sp->dirfd = sp->wfd = sp->rfd = sp->cursor_fd = -1;
    spool_set_max(sp, max_bytes);
    if (mkdir_p(dir) != SM_OK) {
        *cause = sm_xasprintf("cannot create %s: %s", dir, strerror(errno));
        goto fail;
    }
    sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sp->dirfd < 0) {
        *cause = sm_xasprintf("cannot open %s: %s", dir, strerror(errno));
        goto fail;
    }
    int dfd = dup(sp->dirfd);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        *cause = sm_xasprintf("cannot read %s: %s", dir, strerror(errno));
        goto fail;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, SEG_PREFIX, 4) != 0 || strlen(e->d_name) != 20)
            continue;
        char *end;
        errno = 0;
        uint64_t no = strtoull(e->d_name + 4, &end, 16);
        struct stat st;
        if (*end != '\0' || errno != 0 || fstatat(sp->dirfd, e->d_name, &st, 0) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        sp->segs = sm_xgrow(sp->segs, &sp->segcap, sp->nsegs + 1, sizeof *sp->segs);
        sp->segs[sp->nsegs++] = (struct seg){.no = no, .size = (uint64_t)st.st_size};
        sp->total += (uint64_t)st.st_size;
    }
    closedir(d);
    if (sp->nsegs > 1)
        qsort(sp->segs, sp->nsegs, sizeof *sp->segs, seg_cmp);
    sp->next_no = sp->nsegs ? sp->segs[sp->nsegs - 1].no + 1 : 1;

    sp->cursor_fd = openat(sp->dirfd, CURSOR_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (sp->cursor_fd < 0) {
        *cause = sm_xasprintf("cannot open %s/" CURSOR_FILE ": %s", dir, strerror(errno));
        goto fail;
    }
    unsigned char cb[CURSOR_SIZE];
    if (pread_full(sp->cursor_fd, cb, sizeof cb, 0) == CURSOR_SIZE &&
        spool_crc32(cb, 16) == get32(cb + 16)) {
        sp->cur_seg = get64(cb);
        sp->cur_off = get64(cb + 8);
        if (sp->nsegs == 0 && sp->cur_seg > sp->next_no)
            sp->next_no = sp->cur_seg;
        /* An offset into a segment that is gone (deleted after a consume whose cursor
         * update was lost) would apply to the new segment of that number and skip its
         * first records: start that segment from its beginning. */
        int found = 0;
        for (size_t i = 0; i < sp->nsegs; i++)
            found |= sp->segs[i].no == sp->cur_seg;
        if (!found)
            sp->cur_off = 0;
    } else {
        /* No cursor (or a bad one): start from the oldest record; resends are harmless. */
        sp->cur_seg = sp->nsegs ? sp->segs[0].no : sp->next_no;
        sp->cur_off = 0;
    }
    if (repair_tail(sp) != SM_OK) {
        *cause = sm_xasprintf("cannot repair the newest segment in %s: %s", dir, strerror(errno));
        goto fail;
    }
    /* A cursor inside a record (stale after a crash) cannot be trusted. */
    if (sp->nsegs > 0 && sp->cur_seg == sp->segs[0].no && sp->cur_off > sp->segs[0].size)
        sp->cur_off = sp->segs[0].size;
    if (normalize(sp))
        write_cursor(sp);
    return sp;
fail:
    spool_close(sp);
    return NULL;
}

void
spool_close(struct spool *sp)
{
    if (!sp)
        return;
    if (sp->wfd >= 0)
        close(sp->wfd);
    if (sp->rfd >= 0)
        close(sp->rfd);
    if (sp->cursor_fd >= 0)
        close(sp->cursor_fd);
    if (sp->dirfd >= 0)
        close(sp->dirfd);
    free(sp->segs);
    free(sp->dir);
    free(sp);
}

void
spool_set_max(struct spool *sp, uint64_t max_bytes)
{
    if (max_bytes < SPOOL_MIN_MAX)
        max_bytes = SPOOL_MIN_MAX;
    sp->max = max_bytes;
    sp->seg_max = max_bytes / 8;
    if (sp->seg_max < SEG_MIN)
        sp->seg_max = SEG_MIN;
    if (sp->seg_max > SEG_MAX)
        sp->seg_max = SEG_MAX;
}

/* Start a new newest segment. */
static enum sm_rc
new_segment(struct spool *sp)
{
    if (sp->wfd >= 0) {
        close(sp->wfd);
        sp->wfd = -1;
    }
    uint64_t no = sp->next_no++;
    int fd = open_seg(sp, no, O_WRONLY | O_CREAT | O_EXCL | O_APPEND);
    if (fd < 0)
        return SM_EIO;
    (void)fsync(sp->dirfd); /* the new name survives a crash */
    sp->segs = sm_xgrow(sp->segs, &sp->segcap, sp->nsegs + 1, sizeof *sp->segs);
    sp->segs[sp->nsegs++] = (struct seg){.no = no, .size = 0};
    sp->wfd = fd;
    if (sp->nsegs == 1 && sp->cur_seg != no) {
        sp->cur_seg = no;
        sp->cur_off = 0;
        write_cursor(sp);
    }
    return SM_OK;
}

/* Drop the oldest segment to make room, counting its unsent records. */
static void
drop_oldest(struct spool *sp)
{
    uint64_t from = sp->segs[0].no == sp->cur_seg ? sp->cur_off : 0;
    if (sp->segs[0].no >= sp->cur_seg)
        sp->dropped += count_records(sp, 0, from);
    remove_seg(sp, 0);
    normalize(sp);
    write_cursor(sp);
}

enum sm_rc
spool_append(struct spool *sp, const void *data, size_t len)
{
    uint64_t reclen = HDR + (uint64_t)len;
    if (len > SPOOL_RECORD_MAX || reclen > sp->max) {
        sp->dropped++;
        return SM_ETOOBIG;
    }
    while (sp->nsegs > 0 && sp->total + reclen > sp->max)
        drop_oldest(sp);
    struct seg *last = sp->nsegs ? &sp->segs[sp->nsegs - 1] : NULL;
    if (last && sp->wfd < 0 && last->size + reclen <= sp->seg_max)
        sp->wfd = open_seg(sp, last->no, O_WRONLY | O_APPEND);
    if (!last || sp->wfd < 0 || (last->size > 0 && last->size + reclen > sp->seg_max))
        if (new_segment(sp) != SM_OK)
            return SM_EIO;
    struct seg *s = &sp->segs[sp->nsegs - 1];
    unsigned char h[HDR];
    put32(h, (uint32_t)len);
    put32(h + 4, spool_crc32(data, len));
    size_t done = 0;
    while (done < reclen) {
        struct iovec v[2];
        int nv = 0;
        if (done < HDR)
            v[nv++] = (struct iovec){h + done, HDR - done};
        size_t doff = done < HDR ? 0 : done - HDR;
        v[nv++] = (struct iovec){(char *)(uintptr_t)data + doff, len - doff};
        ssize_t w = writev(sp->wfd, v, nv);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            /* Leave no partial record behind. */
            (void)ftruncate(sp->wfd, (off_t)s->size);
            return SM_EIO;
        }
        done += (size_t)w;
    }
    if (fdatasync(sp->wfd) != 0) {
        (void)ftruncate(sp->wfd, (off_t)s->size);
        return SM_EIO;
    }
    s->size += reclen;
    sp->total += reclen;
    return SM_OK;
}

/* Index of segment no, or nsegs. */
static size_t
seg_index(const struct spool *sp, uint64_t no)
{
    for (size_t i = 0; i < sp->nsegs; i++)
        if (sp->segs[i].no == no)
            return i;
    return sp->nsegs;
}

static void
batch_push(struct spool_batch *b, size_t len)
{
    b->off = sm_xgrow(b->off, &b->off_cap, b->n + 1, sizeof *b->off);
    b->len = sm_xgrow(b->len, &b->len_cap, b->n + 1, sizeof *b->len);
    b->end = sm_xgrow(b->end, &b->end_cap, b->n + 1, sizeof *b->end);
    b->off[b->n] = b->buf.len;
    b->len[b->n] = len;
}

enum sm_rc
spool_peek(struct spool *sp, size_t max_n, size_t max_bytes, struct spool_batch *b)
{
    b->n = 0;
    sm_buf_reset(&b->buf);
    uint64_t seg = sp->cur_seg, off = sp->cur_off;
    size_t i = seg_index(sp, seg);
    unsigned char h[HDR];
    while (b->n < max_n && i < sp->nsegs) {
        if (off >= sp->segs[i].size) {
            if (++i < sp->nsegs) {
                seg = sp->segs[i].no;
                off = 0;
            }
            continue;
        }
        int fd = read_fd(sp, seg);
        if (fd < 0)
            return SM_EIO;
        ssize_t r = pread_full(fd, h, HDR, off);
        if (r < 0)
            return SM_EIO;
        uint32_t len = get32(h);
        if (r != HDR || len > SPOOL_RECORD_MAX || off + HDR + len > sp->segs[i].size) {
            /* Framing lost: nothing after this point in the segment can be trusted. */
            sp->corrupt++;
            off = sp->segs[i].size;
            if (b->n == 0) {
                sp->cur_seg = seg;
                sp->cur_off = off;
                write_cursor(sp);
            }
            continue;
        }
        if (b->n > 0 && b->buf.len + len > max_bytes)
            break;
        if (sm_buf_reserve(&b->buf, len) != SM_OK)
            abort(); /* not reached: the buffer has no cap (len is under SPOOL_RECORD_MAX) */
        if (pread_full(fd, b->buf.data + b->buf.len, len, off + HDR) != (ssize_t)len)
            return SM_EIO;
        off += HDR + len;
        if (spool_crc32(b->buf.data + b->buf.len, len) != get32(h + 4)) {
            sp->corrupt++;
            if (b->n == 0) {
                sp->cur_seg = seg;
                sp->cur_off = off;
                write_cursor(sp);
            }
            continue;
        }
        batch_push(b, len);
        b->end[b->n] = (struct spool_pos){.seg = seg, .off = off};
        b->n++;
        sm_buf_added(&b->buf, len);
    }
    if (b->n == 0 && normalize(sp))
        write_cursor(sp);
    return SM_OK;
}

enum sm_rc
spool_consume(struct spool *sp, const struct spool_batch *b, size_t n)
{
    if (n == 0)
        return SM_OK;
    if (n > b->n)
        return SM_EINVAL;
    sp->cur_seg = b->end[n - 1].seg;
    sp->cur_off = b->end[n - 1].off;
    normalize(sp);
    write_cursor(sp);
    return SM_OK;
}

int
spool_empty(const struct spool *sp)
{
    return sp->nsegs == 0;
}

uint64_t
spool_bytes(const struct spool *sp)
{
    return sp->total;
}

uint64_t
spool_take_dropped(struct spool *sp)
{
    uint64_t n = sp->dropped;
    sp->dropped = 0;
    return n;
}

uint64_t
spool_take_corrupt(struct spool *sp)
{
    uint64_t n = sp->corrupt;
    sp->corrupt = 0;
    return n;
}

void
spool_batch_init(struct spool_batch *b)
{
    memset(b, 0, sizeof *b);
    sm_buf_init(&b->buf, SIZE_MAX, 0);
}

void
spool_batch_done(struct spool_batch *b)
{
    sm_buf_done(&b->buf);
    free(b->off);
    free(b->len);
    free(b->end);
    memset(b, 0, sizeof *b);
}
