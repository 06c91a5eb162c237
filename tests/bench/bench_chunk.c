/* bench_chunk.c: bytes per point of smserver/chunk.c on real points.
 * Usage: bench_chunk POINTS.TSV WINDOW_S...
 * POINTS.TSV has "series-id TAB milliseconds TAB value" lines sorted by series, then time
 * (density.py export writes it). For each window length the points of every series are
 * cut into chunks of that many seconds of wall-clock time, sealed, decoded again and
 * checked bit for bit; one line per window:
 *   chunk window_s W points N chunks C bytes B bytes_per_point X int_chunks I
 *         encode_ns_per_point E decode_ns_per_point D time_bytes_per_point TB
 * (TB: the same chunks with every value 0, i.e. what the timestamps cost.)
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chunk.h"
#include "xmalloc.h"

struct row {
    long long sid;
    struct chunk_point p;
};

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct row *
load(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    char line[256];
    struct row *r = NULL;
    size_t cap = 0;

    *n = 0;
    if (f == NULL) {
        fprintf(stderr, "bench_chunk: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    while (fgets(line, sizeof line, f)) {
        char *e1, *e2, *e3;
        long long sid = strtoll(line, &e1, 10);
        long long t = strtoll(e1, &e2, 10);
        double v = strtod(e2, &e3);
        if (e1 == line || e2 == e1 || e3 == e2) {
            fprintf(stderr, "bench_chunk: %s: bad line %zu\n", path, *n + 1);
            exit(1);
        }
        r = sm_xgrow(r, &cap, *n + 1, sizeof *r);
        r[*n].sid = sid;
        r[*n].p.t = t;
        r[*n].p.v = v;
        ++*n;
    }
    fclose(f);
    return r;
}

static int
same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static void
run(const struct row *r, size_t n, long long window_s)
{
    struct chunk_builder b, tb;
    size_t chunks = 0, bytes = 0, ints = 0, tbytes = 0;
    double enc_s = 0, dec_s = 0;
    long long wms = window_s * 1000;

    chunk_builder_init(&b);
    chunk_builder_init(&tb);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        /* One chunk: the points of series r[i].sid in r[i]'s window. */
        double t0 = now_s();
        while (j < n && r[j].sid == r[i].sid && r[j].p.t / wms == r[i].p.t / wms) {
            if (chunk_append(&b, r[j].p.t, r[j].p.v) != SM_OK) {
                fprintf(stderr, "bench_chunk: point %zu refused\n", j);
                exit(1);
            }
            j++;
        }
        uint8_t *buf;
        size_t len;
        if (chunk_seal(&b, &buf, &len) != SM_OK) {
            fprintf(stderr, "bench_chunk: seal failed\n");
            exit(1);
        }
        double t1 = now_s();
        struct chunk_point *back;
        size_t m;
        if (chunk_decode(buf, len, &back, &m) != SM_OK || m != j - i) {
            fprintf(stderr, "bench_chunk: chunk at point %zu does not decode\n", i);
            exit(1);
        }
        double t2 = now_s();
        for (size_t k = 0; k < m; k++)
            if (back[k].t != r[i + k].p.t || !same_bits(back[k].v, r[i + k].p.v)) {
                fprintf(stderr, "bench_chunk: point %zu changed in the round trip\n", i + k);
                exit(1);
            }
        /* The same times with a constant value: what the timestamps alone cost. */
        for (size_t k = i; k < j; k++)
            if (chunk_append(&tb, r[k].p.t, 0) != SM_OK)
                exit(1);
        uint8_t *tbuf;
        size_t tlen;
        if (chunk_seal(&tb, &tbuf, &tlen) != SM_OK)
            exit(1);
        tbytes += tlen;
        free(tbuf);
        enc_s += t1 - t0;
        dec_s += t2 - t1;
        chunks++;
        bytes += len;
        ints += buf[1] != CHUNK_ENC_XOR;
        free(back);
        free(buf);
        i = j;
    }
    chunk_builder_done(&b);
    chunk_builder_done(&tb);
    printf("chunk window_s %lld points %zu chunks %zu bytes %zu bytes_per_point %.3f "
           "int_chunks %zu encode_ns_per_point %.0f decode_ns_per_point %.0f "
           "time_bytes_per_point %.3f\n",
           window_s, n, chunks, bytes, n ? (double)bytes / (double)n : 0.0, ints,
           n ? enc_s * 1e9 / (double)n : 0.0, n ? dec_s * 1e9 / (double)n : 0.0,
           n ? (double)tbytes / (double)n : 0.0);
}

int
main(int argc, char **argv)
{
    size_t n;
    if (argc < 3) {
        fprintf(stderr, "usage: bench_chunk POINTS.TSV WINDOW_S...\n");
        return 2;
    }
    struct row *r = load(argv[1], &n);
    for (int a = 2; a < argc; a++) {
        long long w = strtoll(argv[a], NULL, 10);
        if (w < 1 || w > 18 * 3600) {
            fprintf(stderr, "bench_chunk: window %s: 1 to 64800 seconds\n", argv[a]);
            return 2;
        }
        run(r, n, w);
    }
    free(r);
    return 0;
}
