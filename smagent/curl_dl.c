/* curl_dl.c: libcurl through dlopen (see curl_dl.h). */
#include "config.h"

#include "curl_dl.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fault_alloc.h"
#include "xmalloc.h"

/* Loaded once per process, like libcurl's own global state. */
static struct curl_dl dl;
static int loaded;
static const char *fault_lib; /* the test hook is on (CURL_DL_FAULT_ENV) */

static const struct {
    const char *name;
    size_t off;
} symbols[] = {
    {"curl_global_init", offsetof(struct curl_dl, global_init)},
    {"curl_global_cleanup", offsetof(struct curl_dl, global_cleanup)},
    {"curl_easy_init", offsetof(struct curl_dl, easy_init)},
    {"curl_easy_setopt", offsetof(struct curl_dl, easy_setopt)},
    {"curl_easy_getinfo", offsetof(struct curl_dl, easy_getinfo)},
    {"curl_easy_strerror", offsetof(struct curl_dl, easy_strerror)},
    {"curl_easy_cleanup", offsetof(struct curl_dl, easy_cleanup)},
    {"curl_slist_append", offsetof(struct curl_dl, slist_append)},
    {"curl_slist_free_all", offsetof(struct curl_dl, slist_free_all)},
    {"curl_multi_init", offsetof(struct curl_dl, multi_init)},
    {"curl_multi_cleanup", offsetof(struct curl_dl, multi_cleanup)},
    {"curl_multi_add_handle", offsetof(struct curl_dl, multi_add_handle)},
    {"curl_multi_remove_handle", offsetof(struct curl_dl, multi_remove_handle)},
    {"curl_multi_perform", offsetof(struct curl_dl, multi_perform)},
    {"curl_multi_poll", offsetof(struct curl_dl, multi_poll)},
    {"curl_multi_info_read", offsetof(struct curl_dl, multi_info_read)},
};

const struct curl_dl *
curl_dl_get(char **cause)
{
    if (loaded)
        return &dl;
    const char *name = getenv("SM_LIBCURL");
    if (!name || !*name)
        name = CURL_DL_SONAME;
    /* Never unloaded: libcurl and its TLS library do not expect it. */
    void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        *cause = sm_xasprintf("https needs libcurl, which cannot be loaded (%s); install "
                              "libcurl4 (Debian) or use an http:// server URL",
                              why ? why : name);
        return NULL;
    }
    struct curl_dl t;
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        void *p = dlsym(h, symbols[i].name);
        if (!p) {
            *cause = sm_xasprintf("%s has no %s: libcurl 7.66 or later is needed for https", name,
                                  symbols[i].name);
            dlclose(h);
            return NULL;
        }
        /* POSIX: a function's address from dlsym is stored as a function pointer. */
        memcpy((char *)&t + symbols[i].off, &p, sizeof p);
    }
    static const char *const libs[] = {"curl", NULL};
    int fault = sm_fault_parse(CURL_DL_FAULT_ENV, libs, &fault_lib);
    void *gim = fault > 0 ? dlsym(h, "curl_global_init_mem") : NULL;
    memcpy(&t.global_init_mem, &gim, sizeof gim);
    if (fault < 0 || (fault > 0 && !gim)) {
        *cause = sm_xasprintf("%s: cannot be used here", CURL_DL_FAULT_ENV);
        fault_lib = NULL;
        return NULL;
    }
    CURLcode rc = fault > 0 ? t.global_init_mem(CURL_GLOBAL_DEFAULT, sm_fault_malloc, sm_fault_free,
                                                sm_fault_realloc, sm_fault_strdup, sm_fault_calloc)
                            : t.global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        *cause = sm_xstrdup("libcurl could not be initialised");
        return NULL;
    }
    if (fault > 0)
        sm_fault_arm();
    dl = t;
    loaded = 1;
    return &dl;
}

void
curl_dl_done(void)
{
    if (loaded)
        dl.global_cleanup();
    loaded = 0;
    if (fault_lib)
        sm_fault_report(fault_lib);
    fault_lib = NULL;
}
