/* tap.h: a tiny Test Anything Protocol emitter for the unit tests.
 * Usage: ok(cond, "name %d", i); ... return tap_done(); (plan printed at the end). */
#ifndef SM_TESTS_TAP_H
#define SM_TESTS_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3))) static inline int
ok(int cond, const char *fmt, ...)
{
    va_list ap;
    tap_n++;
    printf("%sok %d - ", cond ? "" : "not ", tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!cond)
        tap_failed++;
    return cond;
}

__attribute__((format(printf, 1, 2))) static inline void
diag(const char *fmt, ...)
{
    va_list ap;
    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* Compare doubles within eps and say both values when they differ. */
static inline int
ok_near(double got, double want, double eps, const char *name)
{
    int good = fabs(got - want) <= eps;
    ok(good, "%s", name);
    if (!good)
        diag("    got %.6f, want %.6f (+/- %g)", got, want, eps);
    return good;
}

static inline int
ok_str(const char *got, const char *want, const char *name)
{
    int good = got != NULL && want != NULL && strcmp(got, want) == 0;
    ok(good, "%s", name);
    if (!good)
        diag("    got '%s', want '%s'", got ? got : "(null)", want ? want : "(null)");
    return good;
}

static inline int
tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif
