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

/* The library name dlopen is given (SM_LIBCURL in the environment overrides it). */
#define CURL_DL_SONAME "libcurl.so.4"

/* Load libcurl and initialise it, once; later calls return the same table. Returns
 * NULL with an allocated *cause when it cannot be loaded (the cause says so and names
 * the package). Main thread only. */
const struct curl_dl *curl_dl_get(char **cause);
/* curl_global_cleanup when libcurl was loaded (the library stays mapped). */
void curl_dl_done(void);

#endif
