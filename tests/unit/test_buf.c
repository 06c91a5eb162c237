/* test_buf.c: the capped byte buffer: growth, the cap, size arithmetic, wiping. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tap.h"

static void
test_growth(void)
{
    struct sm_buf b;
    sm_buf_init(&b, 1 << 20, 0);
    ok(b.data == NULL && b.len == 0, "a new buffer allocates nothing");
    int good = 1;
    for (int i = 0; i < 10000; i++)
        good &= sm_buf_add(&b, "0123456789", 10) == SM_OK;
    ok(good && b.len == 100000, "10000 appends of 10 bytes: %zu bytes", b.len);
    ok(b.alloc > b.len && b.data[b.len] == '\0', "NUL-terminated after growth");
    ok(memcmp(b.data + 99990, "0123456789", 10) == 0, "the last append is at the end");
    ok(sm_buf_add(&b, "a\0b", 3) == SM_OK && b.len == 100003 && b.data[100001] == '\0',
       "bytes with a NUL inside are kept");
    sm_buf_reset(&b);
    ok(b.len == 0 && b.data && b.data[0] == '\0' && b.alloc > 0, "reset keeps the memory");
    ok(sm_buf_add(&b, "x", 0) == SM_OK && b.len == 0, "an empty append is fine");
    sm_buf_done(&b);
    ok(b.data == NULL && b.len == 0 && b.alloc == 0, "done frees");
    sm_buf_done(NULL);
    ok(1, "done(NULL) is a no-op");
}

static void
test_printf(void)
{
    struct sm_buf b;
    sm_buf_init(&b, 4096, 0);
    ok(sm_buf_addf(&b, "%s=%d", "a", 1) == SM_OK, "addf");
    ok(sm_buf_addf(&b, ",%s", "bb") == SM_OK, "addf again");
    ok_str(b.data, "a=1,bb", "addf appends");
    char big[600];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ok(sm_buf_addf(&b, "[%s]", big) == SM_OK && b.len == 6 + 601, "addf past the first block");
    ok(b.data[6] == '[' && b.data[b.len - 1] == ']' && b.data[b.len] == '\0',
       "the grown text is whole");
    ok(sm_buf_adds(&b, "!") == SM_OK && b.data[b.len - 1] == '!', "adds");
    char *t = sm_buf_take(&b);
    ok(t && strlen(t) == 608 && b.data == NULL && b.len == 0, "take hands the text out");
    free(t);
    t = sm_buf_take(&b);
    ok_str(t, "", "take of an empty buffer is \"\"");
    free(t);
    sm_buf_done(&b);
}

static void
test_cap(void)
{
    struct sm_buf b;
    sm_buf_init(&b, 10, 0);
    ok(sm_buf_add(&b, "0123456789", 10) == SM_OK && b.len == 10, "up to the cap is fine");
    ok(sm_buf_add(&b, "x", 1) == SM_ETOOBIG, "one byte past the cap: SM_ETOOBIG");
    ok(b.len == 10 && strcmp(b.data, "0123456789") == 0, "...and the buffer is unchanged");
    sm_buf_reset(&b);
    ok(sm_buf_add(&b, "abcd", 4) == SM_OK, "after reset there is room again");
    ok(sm_buf_addf(&b, "%s", "efghijk") == SM_ETOOBIG, "addf past the cap: SM_ETOOBIG");
    ok(b.len == 4 && strcmp(b.data, "abcd") == 0, "...and the buffer is unchanged");
    ok(sm_buf_addf(&b, "%s", "efghij") == SM_OK && b.len == 10, "addf up to the cap");
    ok(sm_buf_reserve(&b, 1) == SM_ETOOBIG, "reserve past the cap: SM_ETOOBIG");
    ok(b.alloc <= 11, "memory never passes the cap plus the NUL (%zu)", b.alloc);
    sm_buf_done(&b);

    /* A cap reached while the text would fit in memory already allocated. */
    sm_buf_init(&b, 300, 0);
    ok(sm_buf_add(&b, "a", 1) == SM_OK && b.alloc > 20, "a small start");
    sm_buf_done(&b);
    sm_buf_init(&b, 5, 0);
    ok(sm_buf_add(&b, "abc", 3) == SM_OK, "3 of 5");
    ok(sm_buf_addf(&b, "%d", 123) == SM_ETOOBIG && b.len == 3 && strcmp(b.data, "abc") == 0,
       "addf that fits in memory but not under the cap is refused, buffer unchanged");
    sm_buf_done(&b);

    sm_buf_init(&b, 0, 0);
    ok(sm_buf_add(&b, "x", 1) == SM_ETOOBIG && b.data == NULL, "a cap of 0 holds nothing");
    ok(sm_buf_add(&b, "", 0) == SM_OK, "...but an empty append succeeds");
    sm_buf_done(&b);
}

static void
test_overflow(void)
{
    struct sm_buf b;
    sm_buf_init(&b, SIZE_MAX, 0);
    ok(b.max == SIZE_MAX - 1, "a cap of SIZE_MAX keeps room for the NUL");
    ok(sm_buf_add(&b, "abc", 3) == SM_OK, "a few bytes");
    ok(sm_buf_add(&b, "x", SIZE_MAX) == SM_ETOOBIG, "len + SIZE_MAX: SM_ETOOBIG, no wrap");
    ok(sm_buf_add(&b, "x", SIZE_MAX - 3) == SM_ETOOBIG, "len + n == SIZE_MAX: SM_ETOOBIG");
    ok(sm_buf_reserve(&b, SIZE_MAX - 3) == SM_ETOOBIG, "reserve past the cap does not wrap");
    ok(b.len == 3 && strcmp(b.data, "abc") == 0, "the buffer is unchanged");
    sm_buf_done(&b);
}

static void
test_wipe(void)
{
    struct sm_buf b;
    sm_buf_init(&b, 1 << 16, SM_BUF_WIPE);
    ok(sm_buf_adds(&b, "password=hunter2") == SM_OK, "a secret");
    char *p = b.data;
    size_t n = b.alloc;
    sm_buf_reset(&b);
    int zero = 1;
    for (size_t i = 0; i < n; i++)
        zero &= p[i] == 0;
    ok(b.data == p && zero, "reset of a wiped buffer zeroes the old contents");
    int good = 1;
    for (int i = 0; i < 1000; i++)
        good &= sm_buf_adds(&b, "secret-") == SM_OK;
    ok(good && b.len == 7000 && memcmp(b.data + 6993, "secret-", 7) == 0,
       "growth of a wiped buffer keeps the contents");
    ok(sm_buf_addf(&b, "%0600d", 7) == SM_OK && b.len == 7600, "addf on a wiped buffer");
    sm_buf_done(&b);
    ok(b.data == NULL, "done frees a wiped buffer");
}

int
main(void)
{
    test_growth();
    test_printf();
    test_cap();
    test_overflow();
    test_wipe();
    return tap_done();
}
