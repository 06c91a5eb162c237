/* fault_alloc.h: a counting allocator whose Nth allocation fails, for the test hooks that
 * reach inside libraries with allocator callbacks (smserver/fault.c: libwebsockets and
 * libcurl; smagent/curl_dl.c: libcurl). Tests only. */
#ifndef SM_LIB_FAULT_ALLOC_H
#define SM_LIB_FAULT_ALLOC_H

#include <stddef.h>

/* Parse "NAME:N" (N >= 1) from the environment variable env. Returns 1 and sets
 * *name to the matching entry of names (NULL-terminated) and the count to fail at,
 * 0 when env is unset or empty, -1 when the value is malformed. Main thread, before
 * any allocation is counted. */
int sm_fault_parse(const char *env, const char *const *names, const char **name);
/* Start counting: the Nth allocation from now fails, once. Any thread. */
void sm_fault_arm(void);
/* Whether this allocation is the one to fail (counts it when armed). Any thread. */
int sm_fault_now(void);
/* Note why the failed allocation was made (a literal that outlives the process's use
 * of it), for sm_fault_report. Any thread. */
void sm_fault_note(const char *reason);
/* Log "fault: NAME: allocation N of M failed (REASON)" or "fault: NAME: M allocations,
 * allocation N not reached". Any thread, once counting is over. */
void sm_fault_report(const char *name);

/* malloc, free, realloc, strdup and calloc that fail when sm_fault_now() says so (the
 * shapes libcurl's curl_global_init_mem takes). */
void *sm_fault_malloc(size_t size);
void sm_fault_free(void *ptr);
void *sm_fault_realloc(void *ptr, size_t size);
char *sm_fault_strdup(const char *s);
void *sm_fault_calloc(size_t nmemb, size_t size);

#endif
