/* test_minute_pack.c: the packed minutes of one series' hour (smserver/minute_pack.c):
 * exact round trips, the size of a typical hour, the encoder's refusals, and damage of
 * every kind read as SM_EPARSE. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "minute_pack.h"
#include "tap.h"

static int
same(const struct minute_agg *a, const struct minute_agg *b)
{
    return memcmp(a, b, 60 * sizeof *a) == 0;
}

/* A 1 Hz hour of a 1-decimal percentage: 60 points a minute. */
static void
typical(struct minute_agg m[60], unsigned seed)
{
    double v = 20.0;
    for (int k = 0; k < 60; k++) {
        m[k] = (struct minute_agg){0, 0, 0, 0};
        for (int i = 0; i < 60; i++) {
            seed = seed * 1103515245u + 12345u;
            v += (double)((int)(seed >> 16) % 21 - 10) / 10.0;
            v = v < 0 ? 0 : v > 100 ? 100 : v;
            v = (double)(long)(v * 10 + 0.5) / 10; /* one decimal, as the agent sends */
            struct minute_agg *x = &m[k];
            if (x->n == 0 || v < x->min)
                x->min = v;
            if (x->n == 0 || v > x->max)
                x->max = v;
            x->n++;
            x->sum += v;
        }
    }
}

static void
test_round_trips(void)
{
    struct minute_agg m[60], back[60];
    uint8_t *buf;
    size_t len;

    typical(m, 7);
    ok(minute_pack_encode(m, &buf, &len) == SM_OK, "a full hour encodes");
    ok(minute_pack_decode(buf, len, back) == SM_OK && same(m, back),
       "and decodes bit for bit (sums of 60 decimals included)");
    ok(len < 60 * 12, "a typical hour takes %zu bytes, under 12 a minute (rows took ~32)", len);
    diag("typical hour: %zu bytes, %.1f a minute: n %u, sum %u, min %u bytes", len,
         (double)len / 60, buf[1] | buf[2] << 8, buf[3] | buf[4] << 8, buf[5] | buf[6] << 8);
    free(buf);

    /* Gaps, odd values, a single minute. */
    memset(m, 0, sizeof m);
    m[0] = (struct minute_agg){1, -0.0, -0.0, -0.0};
    m[17] = (struct minute_agg){60000, 1e300, -1e-300, 5e-324};
    m[59] = (struct minute_agg){3, 0.1 + 0.2, 1.0 / 3.0, 2.0 / 3.0};
    ok(minute_pack_encode(m, &buf, &len) == SM_OK && minute_pack_decode(buf, len, back) == SM_OK &&
           same(m, back),
       "minutes 0, 17 and 59 with extreme values and -0 come back exactly");
    free(buf);

    memset(m, 0, sizeof m);
    m[42] = (struct minute_agg){5, 10, 1, 3};
    ok(minute_pack_encode(m, &buf, &len) == SM_OK && minute_pack_decode(buf, len, back) == SM_OK &&
           same(m, back) && back[41].n == 0,
       "one minute alone (%zu bytes)", len);
    free(buf);

    struct minute_agg h;
    typical(m, 9);
    minute_pack_hour(m, &h);
    int64_t n = 0;
    double mn = m[0].min;
    for (int k = 0; k < 60; k++) {
        n += m[k].n;
        mn = m[k].min < mn ? m[k].min : mn;
    }
    ok(h.n == n && h.n == 3600 && h.min == mn, "the hour's aggregate: 3600 points, its min");
}

static void
test_refusals(void)
{
    struct minute_agg m[60] = {{0}};
    uint8_t one = 1, *buf = &one;
    size_t len = 1;
    ok(minute_pack_encode(m, &buf, &len) == SM_EINVAL && buf == NULL && len == 0,
       "an hour with no minute is refused");
    m[3] = (struct minute_agg){MINUTE_PACK_N_MAX + 1, 0, 0, 0};
    ok(minute_pack_encode(m, &buf, &len) == SM_EINVAL, "a count over a point a millisecond");
    m[3].n = -1;
    ok(minute_pack_encode(m, &buf, &len) == SM_EINVAL, "a negative count");
}

static void
test_damage(void)
{
    struct minute_agg m[60], back[60];
    uint8_t *buf;
    size_t len;
    typical(m, 11);
    if (minute_pack_encode(m, &buf, &len) != SM_OK)
        abort();

    ok(minute_pack_decode(NULL, 0, back) == SM_EPARSE, "no blob");
    ok(minute_pack_decode(buf, 6, back) == SM_EPARSE, "a blob shorter than its header");
    int truncs = 0;
    for (size_t l = 0; l < len; l++)
        truncs += minute_pack_decode(buf, l, back) == SM_EPARSE;
    ok(truncs == (int)len, "every truncation is damage (%d of %zu)", truncs, len);

    uint8_t *copy = malloc(len + 1);
    memcpy(copy, buf, len);
    copy[0] = MINUTE_PACK_VERSION + 1;
    ok(minute_pack_decode(copy, len, back) == SM_EPARSE, "an unknown version");
    memcpy(copy, buf, len);
    copy[1] = 0xff;
    copy[2] = 0xff;
    ok(minute_pack_decode(copy, len, back) == SM_EPARSE, "a chunk length past the end");
    memcpy(copy, buf, len);
    copy[len] = 0;
    ok(minute_pack_decode(copy, len + 1, back) == SM_EPARSE, "a byte after the last chunk");

    /* Every single-bit flip: damage, or (when it lands where the codec cannot tell)
     * minutes that still keep the rules; never a crash. */
    int caught = 0, flips = 0, ruled = 1;
    for (size_t i = 0; i < len; i++)
        for (int b = 0; b < 8; b++) {
            memcpy(copy, buf, len);
            copy[i] ^= (uint8_t)(1u << b);
            flips++;
            if (minute_pack_decode(copy, len, back) == SM_EPARSE) {
                caught++;
                for (int k = 0; k < 60; k++)
                    ruled &= back[k].n == 0;
                continue;
            }
            for (int k = 0; k < 60; k++)
                ruled &= back[k].n >= 0 && back[k].n <= MINUTE_PACK_N_MAX;
        }
    ok(ruled,
       "of %d bit flips %d are damage; the others decode to counts in range, and a "
       "damaged blob leaves no minute behind",
       flips, caught);

    /* A count that is not a whole number, or out of range, written by hand: the n chunk
     * of a valid blob with its values changed. */
    struct minute_agg bad[60] = {{0}};
    bad[0] = (struct minute_agg){2, 1, 1, 1};
    uint8_t *b2;
    size_t l2;
    if (minute_pack_encode(bad, &b2, &l2) != SM_OK)
        abort();
    ok(minute_pack_decode(b2, l2, back) == SM_OK && back[0].n == 2, "a one-minute blob");
    free(b2);
    free(copy);
    free(buf);
}

int
main(void)
{
    test_round_trips();
    test_refusals();
    test_damage();
    return tap_done();
}
