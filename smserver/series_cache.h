/* series_cache.h: the ingest writer's memory of series ids, shared by the storage
 * backends: (agent, name, labels) -> id in an open-addressing table, and each agent's
 * series count for STORE_SERIES_CAP. A cache belongs to one writer connection; after a
 * rollback its ids may be gone, so the backend clears it. Not thread-safe. */
#ifndef SM_SMSERVER_SERIES_CACHE_H
#define SM_SMSERVER_SERIES_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct series_cache_slot {
    char *key; /* name, NUL, labels, NUL; NULL = free */
    int64_t agent_id;
    uint64_t hash;
    int64_t id;
};

struct series_cache_count {
    int64_t agent_id; /* 0 = free */
    int64_t count;    /* -1 = not read yet */
};

/* Zero-initialised is an empty cache. */
struct series_cache {
    struct series_cache_slot *slot;
    size_t cap, len;
    struct series_cache_count *counts;
    size_t counts_cap, counts_len;
};

/* Whether the id of series (agent_id, name, labels) is known; then *id is it (id may be
 * NULL). */
int series_cache_get(const struct series_cache *c, int64_t agent_id, const char *name,
                     const char *labels, int64_t *id);
/* Remember id for the series (names are copied). A key too long to build is not kept. */
void series_cache_put(struct series_cache *c, int64_t agent_id, const char *name,
                      const char *labels, int64_t id);
/* The series count slot of agent_id (made with count -1); valid until the next call. */
int64_t *series_cache_count(struct series_cache *c, int64_t agent_id);
/* Forget everything (ids and counts); the cache stays usable. */
void series_cache_clear(struct series_cache *c);

#endif
