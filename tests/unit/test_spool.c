/* test_spool.c: the agent's on-disk spool: order, the cap, torn and corrupt records, the
 * cursor across reopen. */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smagent/spool.h"
#include "tap.h"

static char dir[256];

static struct spool *
open_spool(uint64_t max)
{
    char *cause = NULL;
    struct spool *sp = spool_open(dir, max, &cause);
    if (!sp)
        diag("spool_open: %s", cause ? cause : "?");
    free(cause);
    return sp;
}

static int
append_n(struct spool *sp, int from, int to, size_t pad)
{
    char rec[4096];
    for (int i = from; i < to; i++) {
        int n = snprintf(rec, sizeof rec, "{\"seq\":%d}", i);
        memset(rec + n, ' ', pad);
        if (spool_append(sp, rec, (size_t)n + pad) != SM_OK)
            return 0;
    }
    return 1;
}

/* The seq number of record i of b, or -1. */
static int
seq_of(const struct spool_batch *b, size_t i)
{
    int v = -1;
    char tmp[64];
    size_t n = b->len[i] < sizeof tmp - 1 ? b->len[i] : sizeof tmp - 1;
    memcpy(tmp, b->buf.data + b->off[i], n);
    tmp[n] = '\0';
    if (sscanf(tmp, "{\"seq\":%d}", &v) != 1)
        return -1;
    return v;
}

/* Read everything pending (consuming it); returns the count, checks ascending order
 * starting at first (first < 0: any start), sets *lo to the first seq seen. */
static int
drain(struct spool *sp, int *lo, int *ordered)
{
    struct spool_batch b;
    spool_batch_init(&b);
    int count = 0, prev = -1;
    *ordered = 1;
    *lo = -1;
    for (;;) {
        if (spool_peek(sp, 7, 1 << 20, &b) != SM_OK || b.n == 0)
            break;
        for (size_t i = 0; i < b.n; i++) {
            int s = seq_of(&b, i);
            if (*lo < 0)
                *lo = s;
            if (s <= prev)
                *ordered = 0;
            prev = s;
            count++;
        }
        if (spool_consume(sp, &b, b.n) != SM_OK)
            break;
    }
    spool_batch_done(&b);
    return count;
}

static void
rm_dir(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        diag("could not remove %s", dir);
}

/* Path of the newest segment file. */
static int
newest_segment(char *out, size_t size)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep '^seg-' | sort | tail -n 1", dir);
    FILE *p = popen(cmd, "r");
    char name[64] = "";
    if (!p)
        return 0;
    int ok_ = fgets(name, sizeof name, p) != NULL;
    pclose(p);
    name[strcspn(name, "\n")] = '\0';
    snprintf(out, size, "%s/%s", dir, name);
    return ok_ && name[0];
}

static void
test_order_and_partial_consume(void)
{
    struct spool *sp = open_spool(1 << 20);
    ok(sp && spool_empty(sp), "a new spool is empty");
    ok(append_n(sp, 0, 100, 0), "100 records appended");
    ok(!spool_empty(sp), "not empty after appending");
    struct spool_batch b;
    spool_batch_init(&b);
    ok(spool_peek(sp, 10, 1 << 20, &b) == SM_OK && b.n == 10, "peek returns at most max_n");
    ok(seq_of(&b, 0) == 0 && seq_of(&b, 9) == 9, "peek starts at the oldest");
    ok(spool_consume(sp, &b, 4) == SM_OK, "consume 4 of 10");
    ok(spool_peek(sp, 10, 1 << 20, &b) == SM_OK && seq_of(&b, 0) == 4,
       "the next peek starts after the consumed ones");
    ok(spool_peek(sp, 1000, 40, &b) == SM_OK && b.n >= 1 && b.buf.len <= 40,
       "max_bytes bounds a batch (%zu records, %zu bytes)", b.n, b.buf.len);
    ok(spool_peek(sp, 1000, 1, &b) == SM_OK && b.n == 1,
       "a batch holds at least one record even past max_bytes");
    spool_batch_done(&b);
    int lo, ordered;
    ok(drain(sp, &lo, &ordered) == 96 && lo == 4 && ordered, "the rest comes in order");
    ok(spool_empty(sp), "empty after consuming everything");
    spool_close(sp);
    rm_dir();
}

static void
test_cursor_survives_reopen(void)
{
    struct spool *sp = open_spool(1 << 20);
    ok(append_n(sp, 0, 50, 0), "50 records appended");
    struct spool_batch b;
    spool_batch_init(&b);
    ok(spool_peek(sp, 20, 1 << 20, &b) == SM_OK && b.n == 20, "peek 20");
    ok(spool_consume(sp, &b, 20) == SM_OK, "consume 20");
    spool_batch_done(&b);
    spool_close(sp);
    sp = open_spool(1 << 20);
    int lo, ordered;
    int n = drain(sp, &lo, &ordered);
    ok(n == 30 && lo == 20 && ordered,
       "after reopen the 30 unsent records remain, from 20 (%d from %d)", n, lo);
    ok(append_n(sp, 50, 52, 0), "append after draining");
    spool_close(sp);
    sp = open_spool(1 << 20);
    n = drain(sp, &lo, &ordered);
    ok(n == 2 && lo == 50, "a reopened drained spool holds only the new records");
    spool_close(sp);
    rm_dir();
}

static void
test_cap_drops_oldest(void)
{
    const uint64_t cap = 64 * 1024;
    struct spool *sp = open_spool(cap);
    /* ~1 KiB records: 1000 of them are 16 times the cap. */
    ok(append_n(sp, 0, 1000, 1000), "1000 records of 1 KiB appended under a 64 KiB cap");
    ok(spool_bytes(sp) <= cap, "bytes on disk %llu <= cap", (unsigned long long)spool_bytes(sp));
    uint64_t dropped = spool_take_dropped(sp);
    int lo, ordered;
    int n = drain(sp, &lo, &ordered);
    ok(dropped > 0 && (int)dropped + n == 1000, "dropped %llu + kept %d = 1000",
       (unsigned long long)dropped, n);
    ok(ordered && lo == (int)dropped, "the oldest were dropped: the first kept is %d", lo);
    ok(spool_take_dropped(sp) == 0, "the dropped count is reset when taken");
    ok(spool_append(sp, "x", SPOOL_RECORD_MAX + 1) == SM_ETOOBIG, "an oversized record is refused");
    spool_close(sp);
    rm_dir();
}

static void
test_torn_record(void)
{
    struct spool *sp = open_spool(1 << 20);
    ok(append_n(sp, 0, 10, 0), "10 records appended");
    spool_close(sp);
    char seg[512];
    ok(newest_segment(seg, sizeof seg), "found the newest segment");
    struct stat st;
    stat(seg, &st);
    /* A crash mid-write: a header promising 100 bytes and only 5 of them. */
    int fd = open(seg, O_WRONLY | O_APPEND);
    unsigned char torn[13] = {100, 0, 0, 0, 1, 2, 3, 4, 'a', 'b', 'c', 'd', 'e'};
    ok(fd >= 0 && write(fd, torn, sizeof torn) == (ssize_t)sizeof torn, "torn record written");
    close(fd);
    sp = open_spool(1 << 20);
    struct stat st2;
    stat(seg, &st2);
    ok(st2.st_size == st.st_size, "open cut the torn record off (%lld bytes, was %lld)",
       (long long)st2.st_size, (long long)st.st_size);
    ok(append_n(sp, 10, 12, 0), "append after the repair");
    int lo, ordered;
    int n = drain(sp, &lo, &ordered);
    ok(n == 12 && lo == 0 && ordered, "all 12 good records read in order (%d)", n);
    spool_close(sp);
    rm_dir();

    /* A last record with a wrong sum (zeros from a crash) is cut off too. */
    sp = open_spool(1 << 20);
    ok(append_n(sp, 0, 3, 0), "3 records appended");
    spool_close(sp);
    newest_segment(seg, sizeof seg);
    stat(seg, &st);
    fd = open(seg, O_RDWR);
    unsigned char z = 0;
    ok(fd >= 0 && pwrite(fd, &z, 1, st.st_size - 1) == 1, "last byte zeroed");
    close(fd);
    sp = open_spool(1 << 20);
    n = drain(sp, &lo, &ordered);
    ok(n == 2 && lo == 0, "the record with a bad sum at the end is skipped (%d left)", n);
    spool_close(sp);
    rm_dir();
}

static void
test_corrupt_middle(void)
{
    struct spool *sp = open_spool(1 << 20);
    ok(append_n(sp, 0, 5, 0), "5 records appended");
    spool_close(sp);
    char seg[512];
    newest_segment(seg, sizeof seg);
    /* Flip a payload byte of the second record: records are 8 + 9 bytes ({"seq":N}). */
    int fd = open(seg, O_RDWR);
    char c = 'X';
    ok(fd >= 0 && pwrite(fd, &c, 1, 17 + 8 + 2) == 1, "a byte of record 1 changed");
    close(fd);
    sp = open_spool(1 << 20);
    struct spool_batch b;
    spool_batch_init(&b);
    enum sm_rc rc = spool_peek(sp, 10, 1 << 20, &b);
    ok(rc == SM_OK && b.n == 4, "4 of 5 records read (%zu)", b.n);
    ok(seq_of(&b, 0) == 0 && seq_of(&b, 1) == 2, "the corrupt record 1 is skipped");
    ok(spool_take_corrupt(sp) == 1, "and counted");
    spool_batch_done(&b);
    spool_close(sp);
    rm_dir();
}

/* A cursor left pointing into a segment that is gone (its update after the last
 * consume was lost, the segment's unlink was not): new records must not be skipped.
 * Found by fuzz_spool. */
static void
test_stale_cursor(void)
{
    char path[300], saved[20];
    snprintf(path, sizeof path, "%s/cursor", dir);
    struct spool *sp = open_spool(1 << 20);
    ok(append_n(sp, 0, 10, 0), "10 records appended");
    struct spool_batch b;
    spool_batch_init(&b);
    ok(spool_peek(sp, 5, 1 << 20, &b) == SM_OK && spool_consume(sp, &b, 5) == SM_OK,
       "5 consumed: the cursor points into the segment");
    spool_batch_done(&b);
    FILE *f = fopen(path, "rb");
    ok(f && fread(saved, 1, sizeof saved, f) == sizeof saved, "cursor saved");
    if (f)
        fclose(f);
    int lo, ordered;
    ok(drain(sp, &lo, &ordered) == 5, "the other 5 drained: the segment is deleted");
    spool_close(sp);
    f = fopen(path, "wb");
    ok(f && fwrite(saved, 1, sizeof saved, f) == sizeof saved, "the old cursor put back");
    if (f)
        fclose(f);
    sp = open_spool(1 << 20);
    ok(sp && append_n(sp, 100, 103, 0), "3 new records appended");
    int n = sp ? drain(sp, &lo, &ordered) : 0;
    ok(n == 3 && lo == 100, "every new record is read (%d from %d)", n, lo);
    spool_close(sp);
    rm_dir();
}

static void
test_crc(void)
{
    ok(spool_crc32("123456789", 9) == 0xCBF43926u, "CRC-32 check value");
}

int
main(void)
{
    snprintf(dir, sizeof dir, "%s/test_spool.%ld/spool",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid());
    test_crc();
    test_order_and_partial_consume();
    test_cursor_survives_reopen();
    test_cap_drops_oldest();
    test_torn_record();
    test_corrupt_middle();
    test_stale_cursor();
    char parent[300];
    snprintf(parent, sizeof parent, "%.*s", (int)(strrchr(dir, '/') - dir), dir);
    rmdir(parent);
    return tap_done();
}
