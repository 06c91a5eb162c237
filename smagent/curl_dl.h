/* curl_dl.h: libcurl, loaded with dlopen the first time an https URL needs it.
 *
 * Why: linking libcurl maps ~35 shared libraries (OpenSSL, GnuTLS, krb5, ldap, ssh2,
 * nghttp2...) into every agent, about 6 MiB of RSS for a process whose own memory is
 * 1.4 MiB. Plain http goes through lib/http_client; only an https agent loads libcurl
 * (as systemd does for its optional heavy libraries). The types and constants come from
 * curl/curl.h at build time; the functions from the library at run time. */
#ifndef SM_SMAGENT_CURL_DL_H
#define SM_SMAGENT_CURL_DL_H

#include <curl/curl.h>

/* The libcurl functions the sender calls. */
struct curl_dl {
    CURLcode (*global_init)(long flags);
    /* Only looked up when CURL_DL_FAULT_ENV is set (the test hook), else NULL. */
    CURLcode (*global_init_mem)(long flags, curl_malloc_callback m, curl_free_callback f,
                                curl_realloc_callback r, curl_strdup_callback s,
                                curl_calloc_callback c);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *e, CURLoption opt, ...);
    CURLcode (*easy_getinfo)(CURL *e, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode rc);
    void (*easy_cleanup)(CURL *e);
    struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
    void (*slist_free_all)(struct curl_slist *l);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_cleanup)(CURLM *m);
    CURLMcode (*multi_add_handle)(CURLM *m, CURL *e);
    CURLMcode (*multi_remove_handle)(CURLM *m, CURL *e);
    CURLMcode (*multi_perform)(CURLM *m, int *running);
    CURLMcode (*multi_poll)(CURLM *m, struct curl_waitfd *extra, unsigned int n, int ms,
                            int *numfds);
    CURLMsg *(*multi_info_read)(CURLM *m, int *left);
};

/* For the test suite only: "curl:N" makes the Nth allocation libcurl asks for after its
 * initialisation fail, once (lib/fault_alloc.h), and curl_dl_done log it. */
#define CURL_DL_FAULT_ENV "SMAGENT_FAULT_ALLOC"

/* The library name dlopen is given (SM_LIBCURL in the environment overrides it). */
#define CURL_DL_SONAME "libcurl.so.4"

/* Load libcurl and initialise it, once; later calls return the same table. Returns
 * NULL with an allocated *cause when it cannot be loaded (the cause says so and names
 * the package). Main thread only. */
const struct curl_dl *curl_dl_get(char **cause);
/* curl_global_cleanup when libcurl was loaded (the library stays mapped), and the test
 * hook's report when it is on. */
void curl_dl_done(void);

#endif
