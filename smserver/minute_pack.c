/* minute_pack.c: the minutes of one series' hour as one blob (see minute_pack.h). */
#include "config.h"

#include "minute_pack.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "xmalloc.h"

#define HEADER 7

enum sm_rc
minute_pack_encode(const struct minute_agg m[60], uint8_t **out, size_t *len)
{
    struct chunk_point pts[60];
    uint8_t *part[4] = {0};
    size_t plen[4] = {0}, k = 0;
    *out = NULL;
    *len = 0;
    for (int i = 0; i < 60; i++) {
        if (m[i].n == 0)
            continue;
        if (m[i].n < 0 || m[i].n > MINUTE_PACK_N_MAX)
            return SM_EINVAL;
        k++;
    }
    if (k == 0)
        return SM_EINVAL;
    enum sm_rc rc = SM_OK;
    for (int f = 0; f < 4 && rc == SM_OK; f++) {
        size_t j = 0;
        for (int i = 0; i < 60; i++) {
            if (m[i].n == 0)
                continue;
            double v = f == 0 ? (double)m[i].n : f == 1 ? m[i].sum : f == 2 ? m[i].min : m[i].max;
            pts[j++] = (struct chunk_point){i, v};
        }
        uint8_t *x = NULL;
        size_t xl = 0;
        rc = chunk_encode_best(pts, k, &x, &xl);
        part[f] = x;
        plen[f] = xl;
        if (rc == SM_OK && f < 3 && xl > 0xffff)
            rc = SM_EINVAL;
    }
    if (rc == SM_OK) {
        size_t total = HEADER + plen[0] + plen[1] + plen[2] + plen[3];
        uint8_t *b = sm_xmalloc(total), *p = b + HEADER;
        b[0] = MINUTE_PACK_VERSION;
        for (int f = 0; f < 3; f++) {
            b[1 + 2 * f] = (uint8_t)(plen[f] & 0xff);
            b[2 + 2 * f] = (uint8_t)(plen[f] >> 8);
        }
        for (int f = 0; f < 4; f++) {
            memcpy(p, part[f], plen[f]);
            p += plen[f];
        }
        *out = b;
        *len = total;
    }
    for (int f = 0; f < 4; f++)
        free(part[f]);
    return rc;
}

enum sm_rc
minute_pack_decode(const uint8_t *buf, size_t len, struct minute_agg m[60])
{
    memset(m, 0, 60 * sizeof *m);
    if (!buf || len < HEADER || len > MINUTE_PACK_MAX_BYTES || buf[0] != MINUTE_PACK_VERSION)
        return SM_EPARSE;
    size_t plen[4], off = HEADER;
    for (int f = 0; f < 3; f++) {
        plen[f] = (size_t)buf[1 + 2 * f] | (size_t)buf[2 + 2 * f] << 8;
        if (plen[f] > len - off)
            return SM_EPARSE;
        off += plen[f];
    }
    plen[3] = len - off;
    off = HEADER;
    struct minute_agg got[60] = {0};
    int64_t minute[60];
    size_t count = 0;
    for (int f = 0; f < 4; f++) {
        struct chunk_iter it;
        struct chunk_point p;
        size_t j = 0;
        if (chunk_iter_init(&it, buf + off, plen[f]) != SM_OK)
            return SM_EPARSE;
        int r;
        while ((r = chunk_iter_next(&it, &p)) == 1) {
            if (p.t < 0 || p.t >= 60 || j >= 60 || (f > 0 && (j >= count || minute[j] != p.t)))
                return SM_EPARSE;
            struct minute_agg *a = &got[p.t];
            if (f == 0) {
                if (!(p.v >= 1 && p.v <= MINUTE_PACK_N_MAX) || p.v != floor(p.v))
                    return SM_EPARSE;
                minute[j] = p.t;
                a->n = (int64_t)p.v;
            } else if (f == 1) {
                a->sum = p.v;
            } else if (f == 2) {
                a->min = p.v;
            } else {
                a->max = p.v;
            }
            j++;
        }
        if (r != 0 || (f == 0 ? j == 0 : j != count))
            return SM_EPARSE;
        if (f == 0)
            count = j;
        off += plen[f];
    }
    memcpy(m, got, sizeof got);
    return SM_OK;
}

void
minute_pack_hour(const struct minute_agg m[60], struct minute_agg *h)
{
    *h = (struct minute_agg){0};
    for (int i = 0; i < 60; i++) {
        if (m[i].n == 0)
            continue;
        if (h->n == 0 || m[i].min < h->min)
            h->min = m[i].min;
        if (h->n == 0 || m[i].max > h->max)
            h->max = m[i].max;
        h->n += m[i].n;
        h->sum += m[i].sum;
    }
}
