/* fault.h: allocation failures injected inside libwebsockets and libcurl, for the test
 * suite (tests/integration/fault_libs.sh) and nothing else. */
#ifndef SM_SMSERVER_FAULT_H
#define SM_SMSERVER_FAULT_H

/* The environment variable that turns the hooks on: "lws:N" or "curl:N" makes the Nth
 * allocation that library asks for after fault_arm() fail, once; unset, the libraries
 * allocate as they always do and nothing is counted. */
#define FAULT_ENV "SMSERVER_FAULT_ALLOC"

/* Read FAULT_ENV and install the hooks it asks for: lws_set_allocator (before any
 * libwebsockets context) and curl_global_init_mem, which then stands in for
 * curl_global_init. 0 on success, -1 when libcurl could not start or the value is not
 * "lws:N"/"curl:N" with N >= 1 (logged). Main thread, before any other thread. */
int fault_init(void);
/* Start counting (the server is up: its start-up allocations are not the target).
 * Any thread. */
void fault_arm(void);
/* Log what the hooks saw: how many allocations were counted and whether the Nth was
 * reached ("fault: lws: allocation 7 of 31 failed" or "fault: lws: 5 allocations,
 * allocation 7 not reached"). No-op when unset. Main thread, at shutdown. */
void fault_report(void);

#endif
