/* fault.c: the test-only allocation hooks of fault.h: a counting allocator for
 * libwebsockets (lws_set_allocator) and the five libcurl memory callbacks
 * (curl_global_init_mem), where the Nth allocation after arming fails. */
#include "config.h"

#include "fault.h"

#include <curl/curl.h>
#include <errno.h>
#include <libwebsockets.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

enum fault_lib { FAULT_NONE, FAULT_LWS, FAULT_CURL };

/* Set once by fault_init before any other thread starts; read-only afterwards. */
static enum fault_lib fault_lib;
static long fault_at;
/* Counted from any thread (libcurl allocates on the notifier and worker threads). */
static atomic_int fault_armed;
static atomic_long fault_seen;
static atomic_int fault_fired;
/* What libwebsockets said the failed allocation was for (its reason, a literal). */
static const char *_Atomic fault_reason;

/* Whether this allocation is the one to fail. */
static int
fault_now(void)
{
    if (!atomic_load(&fault_armed))
        return 0;
    long n = atomic_fetch_add(&fault_seen, 1) + 1;
    if (n != fault_at)
        return 0;
    atomic_store(&fault_fired, 1);
    return 1;
}

/* libwebsockets: realloc(p, 0) frees (its own allocator's contract). */
static void *
lws_hook(void *ptr, size_t size, const char *reason)
{
    if (!size) {
        free(ptr);
        return NULL;
    }
    if (fault_now()) {
        atomic_store(&fault_reason, reason);
        return NULL;
    }
    return realloc(ptr, size);
}

static void *
curl_malloc_hook(size_t size)
{
    return fault_now() ? NULL : malloc(size);
}

static void
curl_free_hook(void *ptr)
{
    free(ptr);
}

static void *
curl_realloc_hook(void *ptr, size_t size)
{
    return fault_now() ? NULL : realloc(ptr, size);
}

static char *
curl_strdup_hook(const char *s)
{
    if (fault_now())
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static void *
curl_calloc_hook(size_t nmemb, size_t size)
{
    return fault_now() ? NULL : calloc(nmemb, size);
}

int
fault_init(void)
{
    const char *v = getenv(FAULT_ENV);
    if (v && *v) {
        char *end;
        const char *num = strchr(v, ':');
        errno = 0;
        long n = num ? strtol(num + 1, &end, 10) : 0;
        if (num && num - v == 3 && strncmp(v, "lws", 3) == 0)
            fault_lib = FAULT_LWS;
        else if (num && num - v == 4 && strncmp(v, "curl", 4) == 0)
            fault_lib = FAULT_CURL;
        if (!fault_lib || *end || errno || n < 1) {
            sm_log(SM_LOG_ERROR, "%s: expected lws:N or curl:N with N >= 1", FAULT_ENV);
            return -1;
        }
        fault_at = n;
        sm_log(SM_LOG_WARN, "%s is set: allocation %ld of %s will fail (a test hook)", FAULT_ENV, n,
               fault_lib == FAULT_LWS ? "libwebsockets" : "libcurl");
    }
    if (fault_lib == FAULT_LWS)
        lws_set_allocator(lws_hook);
    CURLcode rc = fault_lib == FAULT_CURL
                      ? curl_global_init_mem(CURL_GLOBAL_DEFAULT, curl_malloc_hook, curl_free_hook,
                                             curl_realloc_hook, curl_strdup_hook, curl_calloc_hook)
                      : curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        sm_log(SM_LOG_ERROR, "libcurl failed to initialise");
        return -1;
    }
    return 0;
}

void
fault_arm(void)
{
    if (fault_lib)
        atomic_store(&fault_armed, 1);
}

void
fault_report(void)
{
    if (!fault_lib)
        return;
    const char *name = fault_lib == FAULT_LWS ? "lws" : "curl";
    long seen = atomic_load(&fault_seen);
    const char *reason = atomic_load(&fault_reason);
    if (atomic_load(&fault_fired))
        sm_log(SM_LOG_WARN, "fault: %s: allocation %ld of %ld failed%s%s%s", name, fault_at, seen,
               reason ? " (" : "", reason ? reason : "", reason ? ")" : "");
    else
        sm_log(SM_LOG_WARN, "fault: %s: %ld allocations, allocation %ld not reached", name, seen,
               fault_at);
}
