/* fault_alloc.c: the counting allocator of fault_alloc.h. */
#include "config.h"

#include "fault_alloc.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Set by sm_fault_parse before counting starts; read-only afterwards. */
static long fault_at;
static atomic_int fault_armed;
static atomic_long fault_seen;
static atomic_int fault_fired;
static const char *_Atomic fault_reason;

int
sm_fault_parse(const char *env, const char *const *names, const char **name)
{
    const char *v = getenv(env);
    if (!v || !*v)
        return 0;
    const char *colon = strchr(v, ':');
    *name = NULL;
    for (size_t i = 0; colon && names[i]; i++)
        if (strlen(names[i]) == (size_t)(colon - v) && strncmp(v, names[i], colon - v) == 0)
            *name = names[i];
    char *end = NULL;
    errno = 0;
    long n = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!*name || end == colon + 1 || *end || errno || n < 1) {
        sm_log(SM_LOG_ERROR, "%s: expected NAME:N with N >= 1", env);
        return -1;
    }
    fault_at = n;
    sm_log(SM_LOG_WARN, "%s is set: allocation %ld of %s will fail (a test hook)", env, n, *name);
    return 1;
}

void
sm_fault_arm(void)
{
    atomic_store(&fault_armed, 1);
}

int
sm_fault_now(void)
{
    if (!atomic_load(&fault_armed))
        return 0;
    long n = atomic_fetch_add(&fault_seen, 1) + 1;
    if (n != fault_at)
        return 0;
    atomic_store(&fault_fired, 1);
    return 1;
}

void
sm_fault_note(const char *reason)
{
    atomic_store(&fault_reason, reason);
}

void
sm_fault_report(const char *name)
{
    long seen = atomic_load(&fault_seen);
    const char *reason = atomic_load(&fault_reason);
    if (atomic_load(&fault_fired))
        sm_log(SM_LOG_WARN, "fault: %s: allocation %ld of %ld failed%s%s%s", name, fault_at, seen,
               reason ? " (" : "", reason ? reason : "", reason ? ")" : "");
    else
        sm_log(SM_LOG_WARN, "fault: %s: %ld allocations, allocation %ld not reached", name, seen,
               fault_at);
}

void *
sm_fault_malloc(size_t size)
{
    return sm_fault_now() ? NULL : malloc(size);
}

void
sm_fault_free(void *ptr)
{
    free(ptr);
}

void *
sm_fault_realloc(void *ptr, size_t size)
{
    return sm_fault_now() ? NULL : realloc(ptr, size);
}

char *
sm_fault_strdup(const char *s)
{
    if (sm_fault_now())
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void *
sm_fault_calloc(size_t nmemb, size_t size)
{
    return sm_fault_now() ? NULL : calloc(nmemb, size);
}
