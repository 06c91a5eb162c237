/* fuzz_spool.c: libFuzzer harness for smagent's spool reader (smagent/spool.c), through
 * its real entry points on real files: the input becomes 1-4 segment files and maybe a
 * cursor file in a scratch directory, then the spool is opened and drained with
 * spool_peek/spool_consume in batches of varying size, as the agent does.
 *
 * Input: byte 0 = flags (bit 0: the next 20 bytes are the cursor file; bits 1-2: number
 * of segments - 1; bits 3-5: batch size - 1). Then each segment but the last is a
 * little-endian u16 length and that many bytes; the last takes the rest.
 *
 * Oracles:
 * - spool_open succeeds (a damaged spool is repaired or skipped, never refused);
 * - every record handed out is framed in its segment by a header whose length and CRC-32
 *   match it (nothing is invented from garbage);
 * - without a cursor file, the records handed out are exactly those an independent
 *   reading of the documented format finds (segments in order; a record with a bad CRC
 *   is skipped; a length over SPOOL_RECORD_MAX or past the segment's end loses the rest
 *   of that segment), in order;
 * - draining terminates and leaves the spool empty (the agent never spins on a spool
 *   that reads empty but is not);
 * - a record appended afterwards reads back intact. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SEGS 4

static char dir[256];

static void
write_file(const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        abort();
    if (n && write(fd, p, n) != (ssize_t)n)
        abort();
    close(fd);
}

static void
clear_dir(void)
{
    DIR *d = opendir(dir);
    if (!d)
        abort();
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

static uint32_t
get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

struct seg {
    const uint8_t *p;
    size_t n;
};

/* Whether rec[0..len) sits in some segment right after a header framing it. */
static int
framed_somewhere(const struct seg *segs, int nsegs, const char *rec, size_t len)
{
    uint32_t crc = spool_crc32(rec, len);
    for (int s = 0; s < nsegs; s++) {
        for (size_t off = 0; off + 8 + len <= segs[s].n; off++) {
            if (get32(segs[s].p + off) == len && get32(segs[s].p + off + 4) == crc &&
                memcmp(segs[s].p + off + 8, rec, len) == 0)
                return 1;
        }
    }
    return 0;
}

/* The records of the documented format, in order: offsets into their segments. */
struct expect {
    const uint8_t *p;
    size_t len;
};

static size_t
reference_read(const struct seg *segs, int nsegs, struct expect *out, size_t max)
{
    size_t n = 0;
    for (int s = 0; s < nsegs; s++) {
        size_t off = 0;
        while (off + 8 <= segs[s].n) {
            uint32_t len = get32(segs[s].p + off);
            if (len > SPOOL_RECORD_MAX || off + 8 + (uint64_t)len > segs[s].n)
                break;
            const uint8_t *rec = segs[s].p + off + 8;
            if (spool_crc32(rec, len) == get32(segs[s].p + off + 4) && n < max)
                out[n++] = (struct expect){rec, len};
            off += 8 + len;
        }
    }
    return n;
}

static void
remove_dir(void)
{
    clear_dir();
    rmdir(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof dir, "%s/fuzz_spool.XXXXXX", base);
        if (!mkdtemp(dir))
            abort();
        atexit(remove_dir);
    }
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    const uint8_t *p = data + 1;
    size_t left = size - 1;
    int have_cursor = flags & 1;
    int nsegs = 1 + ((flags >> 1) & 3);
    size_t batch = 1 + ((flags >> 3) & 7);

    clear_dir();
    if (have_cursor) {
        size_t n = left < 20 ? left : 20;
        write_file("cursor", p, n);
        p += n;
        left -= n;
    }
    struct seg segs[MAX_SEGS];
    for (int s = 0; s < nsegs; s++) {
        size_t n = left;
        if (s < nsegs - 1) {
            if (left < 2) {
                nsegs = s;
                break;
            }
            n = (size_t)p[0] | (size_t)p[1] << 8;
            p += 2;
            left -= 2;
            if (n > left)
                n = left;
        }
        segs[s] = (struct seg){p, n};
        char name[32];
        snprintf(name, sizeof name, "seg-%016x", s + 1);
        write_file(name, p, n);
        p += n;
        left -= n;
    }

    char *cause = NULL;
    struct spool *sp = spool_open(dir, 64 * 1024 * 1024, &cause);
    if (!sp)
        abort(); /* a damaged spool must still open */

    static struct expect want[65536];
    size_t nwant = have_cursor ? 0 : reference_read(segs, nsegs, want, 65536);
    size_t got = 0;
    struct spool_batch b;
    spool_batch_init(&b);
    /* Each round consumes at least one record or ends: bounded by the bytes. */
    for (size_t round = 0;; round++) {
        if (round > size + 16)
            abort(); /* no progress */
        if (spool_peek(sp, batch, 64 * 1024, &b) != SM_OK)
            abort();
        if (b.n == 0)
            break;
        for (size_t i = 0; i < b.n; i++) {
            const char *rec = b.buf.data + b.off[i];
            if (b.len[i] > SPOOL_RECORD_MAX || !framed_somewhere(segs, nsegs, rec, b.len[i]))
                abort(); /* a record that is not in the input */
            if (!have_cursor) {
                if (got >= nwant || want[got].len != b.len[i] ||
                    memcmp(want[got].p, rec, b.len[i]) != 0)
                    abort(); /* differs from the documented format's reading */
            }
            got++;
        }
        if (spool_consume(sp, &b, b.n) != SM_OK)
            abort();
    }
    if (!have_cursor && got != nwant)
        abort(); /* a good record was not handed out */
    if (!spool_empty(sp))
        abort(); /* reads empty but is not: the agent would retry it forever */

    static const char probe[] = "{\"timestamp\":1}";
    if (spool_append(sp, probe, sizeof probe - 1) != SM_OK ||
        spool_peek(sp, 4, 64 * 1024, &b) != SM_OK || b.n != 1 || b.len[0] != sizeof probe - 1 ||
        memcmp(b.buf.data + b.off[0], probe, sizeof probe - 1) != 0)
        abort();
    spool_batch_done(&b);
    spool_close(sp);
    return 0;
}
