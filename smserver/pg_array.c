/* pg_array.c: one-dimensional arrays in PostgreSQL's binary format (pg_array.h). The
 * format: ndim, has-nulls flag, element type, then the length and lower bound of the
 * dimension, then each element as its length (-1 for NULL) and its bytes, all
 * big-endian. */
#include "config.h"

#include "pg_array.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

#define ARRAY_HEAD 20 /* the header of a one-dimensional array */

static void
put_be(uint8_t *p, uint64_t v, int size)
{
    for (int i = size - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

void
pg_array_start(struct pg_array *a, uint32_t oid)
{
    a->p = sm_xgrow(a->p, &a->cap, ARRAY_HEAD, 1);
    a->len = ARRAY_HEAD;
    a->n = 0;
    a->oid = oid;
    a->nulls = 0;
}

void
pg_array_add(struct pg_array *a, uint64_t v, int size)
{
    a->p = sm_xgrow(a->p, &a->cap, a->len + 4 + (size_t)size, 1);
    put_be(a->p + a->len, (uint64_t)size, 4);
    put_be(a->p + a->len + 4, v, size);
    a->len += 4 + (size_t)size;
    a->n++;
}

void
pg_array_add_f64(struct pg_array *a, double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    pg_array_add(a, v, 8);
}

void
pg_array_add_bytes(struct pg_array *a, const void *b, size_t n)
{
    a->p = sm_xgrow(a->p, &a->cap, a->len + 4 + n, 1);
    put_be(a->p + a->len, (uint64_t)n, 4);
    if (n)
        memcpy(a->p + a->len + 4, b, n);
    a->len += 4 + n;
    a->n++;
}

void
pg_array_add_null(struct pg_array *a)
{
    a->p = sm_xgrow(a->p, &a->cap, a->len + 4, 1);
    put_be(a->p + a->len, 0xffffffffu, 4);
    a->len += 4;
    a->n++;
    a->nulls = 1;
}

void
pg_array_finish(struct pg_array *a)
{
    if (!a->p)
        pg_array_start(a, a->oid);
    put_be(a->p, a->n ? 1 : 0, 4);
    put_be(a->p + 4, (uint64_t)a->nulls, 4);
    put_be(a->p + 8, a->oid, 4);
    if (!a->n) {
        a->len = 12;
        return;
    }
    put_be(a->p + 12, a->n, 4);
    put_be(a->p + 16, 1, 4);
}

void
pg_array_free(struct pg_array *a)
{
    free(a->p);
    memset(a, 0, sizeof *a);
}

uint64_t
pg_get_be(const uint8_t *p, int size)
{
    uint64_t v = 0;
    for (int i = 0; i < size; i++)
        v = v << 8 | p[i];
    return v;
}

int
pg_array_read8(const uint8_t *p, size_t len, uint64_t **out, size_t *cap, size_t *n)
{
    *n = 0;
    if (len < 12)
        return -1;
    uint32_t ndim = (uint32_t)pg_get_be(p, 4);
    if (ndim == 0)
        return 0;
    if (ndim != 1 || len < ARRAY_HEAD)
        return -1;
    size_t count = (size_t)pg_get_be(p + 12, 4);
    if (count > (len - ARRAY_HEAD) / 12)
        return -1;
    *out = sm_xgrow(*out, cap, count ? count : 1, sizeof **out);
    const uint8_t *e = p + ARRAY_HEAD;
    for (size_t i = 0; i < count; i++, e += 12) {
        if (pg_get_be(e, 4) != 8)
            return -1;
        (*out)[i] = pg_get_be(e + 4, 8);
    }
    *n = count;
    return 0;
}
