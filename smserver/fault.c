/* fault.c: the test-only allocation hooks of fault.h: libwebsockets' allocator
 * (lws_set_allocator) and libcurl's five memory callbacks (curl_global_init_mem) go
 * through lib/fault_alloc.c's counting allocator, whose Nth allocation after arming fails. */
#include "config.h"

#include "fault.h"

#include <curl/curl.h>
#include <libwebsockets.h>
#include <stdlib.h>

#include "fault_alloc.h"
#include "log.h"

/* Which library the hooks are on (NULL: none). Set once by fault_init before any
 * other thread starts; read-only afterwards. */
static const char *fault_lib;

/* libwebsockets: realloc(p, 0) frees (its own allocator's contract). */
static void *
lws_hook(void *ptr, size_t size, const char *reason)
{
    if (!size) {
        free(ptr);
        return NULL;
    }
    if (sm_fault_now()) {
        sm_fault_note(reason);
        return NULL;
    }
    return realloc(ptr, size);
}

int
fault_init(void)
{
    static const char *const libs[] = {"lws", "curl", NULL};
    if (sm_fault_parse(FAULT_ENV, libs, &fault_lib) < 0)
        return -1;
    int curl = fault_lib && fault_lib[0] == 'c';
    if (fault_lib && !curl)
        lws_set_allocator(lws_hook);
    CURLcode rc = curl ? curl_global_init_mem(CURL_GLOBAL_DEFAULT, sm_fault_malloc, sm_fault_free,
                                              sm_fault_realloc, sm_fault_strdup, sm_fault_calloc)
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
        sm_fault_arm();
}

void
fault_report(void)
{
    if (fault_lib)
        sm_fault_report(fault_lib);
}
