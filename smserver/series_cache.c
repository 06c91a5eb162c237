/* series_cache.c: the writer's series id cache and series counts, for both storage
 * backends (series_cache.h). */
#include "config.h"

#include "series_cache.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

/* Room for the name and labels of any series a sample makes (a longer one is not
 * cached). */
#define KEY_MAX 1024

/* FNV-1a over the agent, the name and the labels (a 0x1f between them), with no key
 * string built: the writer looks up every point of every sample. */
static uint64_t
hash_of(int64_t agent_id, const char *name, const char *labels)
{
    uint64_t h = 1469598103934665603ULL;
    uint64_t a = (uint64_t)agent_id;
    for (int i = 0; i < 8; i++, a >>= 8) {
        h ^= a & 0xff;
        h *= 1099511628211ULL;
    }
    for (const char *s = name; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    h ^= 0x1f;
    h *= 1099511628211ULL;
    for (const char *s = labels; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* The slot of the series, or the free slot where it would go. */
static struct series_cache_slot *
slot_of(const struct series_cache *c, uint64_t h, int64_t agent_id, const char *name,
        const char *labels)
{
    size_t mask = c->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct series_cache_slot *e = &c->slot[i];
        if (!e->key)
            return e;
        if (e->hash == h && e->agent_id == agent_id && strcmp(e->key, name) == 0 &&
            strcmp(e->key + strlen(e->key) + 1, labels) == 0)
            return e;
    }
}

/* Whether the series is short enough to be kept. */
static int
fits(const char *name, const char *labels)
{
    return strlen(name) + strlen(labels) + 2 <= KEY_MAX;
}

int
series_cache_get(const struct series_cache *c, int64_t agent_id, const char *name,
                 const char *labels, int64_t *id)
{
    if (!c->cap || !fits(name, labels))
        return 0;
    const struct series_cache_slot *e =
        slot_of(c, hash_of(agent_id, name, labels), agent_id, name, labels);
    if (!e->key)
        return 0;
    if (id)
        *id = e->id;
    return 1;
}

void
series_cache_put(struct series_cache *c, int64_t agent_id, const char *name, const char *labels,
                 int64_t id)
{
    if (!fits(name, labels))
        return;
    if ((c->len + 1) * 2 > c->cap) {
        struct series_cache_slot *old = c->slot;
        size_t oldcap = c->cap;
        c->cap = oldcap ? oldcap * 2 : 256;
        c->slot = sm_xcalloc(c->cap, sizeof *c->slot);
        for (size_t i = 0; i < oldcap; i++) {
            if (!old[i].key)
                continue;
            size_t mask = c->cap - 1, k = old[i].hash & mask;
            while (c->slot[k].key)
                k = (k + 1) & mask;
            c->slot[k] = old[i];
        }
        free(old);
    }
    uint64_t h = hash_of(agent_id, name, labels);
    struct series_cache_slot *e = slot_of(c, h, agent_id, name, labels);
    if (!e->key) {
        size_t nl = strlen(name), ll = strlen(labels);
        e->key = sm_xmalloc(nl + ll + 2);
        memcpy(e->key, name, nl + 1);
        memcpy(e->key + nl + 1, labels, ll + 1);
        e->hash = h;
        e->agent_id = agent_id;
        c->len++;
    }
    e->id = id;
}

int64_t *
series_cache_count(struct series_cache *c, int64_t agent_id)
{
    if ((c->counts_len + 1) * 2 > c->counts_cap) {
        struct series_cache_count *old = c->counts;
        size_t oldcap = c->counts_cap;
        c->counts_cap = oldcap ? oldcap * 2 : 64;
        c->counts = sm_xcalloc(c->counts_cap, sizeof *c->counts);
        c->counts_len = 0;
        for (size_t i = 0; i < oldcap; i++)
            if (old[i].agent_id) {
                int64_t *n = series_cache_count(c, old[i].agent_id);
                *n = old[i].count;
            }
        free(old);
    }
    size_t mask = c->counts_cap - 1;
    for (size_t i = ((uint64_t)agent_id * 11400714819323198485ULL >> 7) & mask;;
         i = (i + 1) & mask) {
        if (c->counts[i].agent_id == agent_id)
            return &c->counts[i].count;
        if (!c->counts[i].agent_id) {
            c->counts[i].agent_id = agent_id;
            c->counts[i].count = -1;
            c->counts_len++;
            return &c->counts[i].count;
        }
    }
}

void
series_cache_clear(struct series_cache *c)
{
    for (size_t i = 0; i < c->cap; i++)
        free(c->slot[i].key);
    free(c->slot);
    free(c->counts);
    memset(c, 0, sizeof *c);
}
