/* series_cache.c: the writer's series id cache and series counts, for both storage
 * backends (series_cache.h). */
#include "config.h"

#include "series_cache.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

/* Room for the key of any series a sample makes (a longer one is not cached). */
#define KEY_MAX 1024

/* Build the key of a series into key[KEY_MAX]; 0 when it does not fit. */
static int
make_key(char *key, int64_t agent_id, const char *name, const char *labels)
{
    int n = snprintf(key, KEY_MAX, "%" PRId64 "\x1f%s\x1f%s", agent_id, name, labels);
    return n > 0 && n < KEY_MAX;
}

static uint64_t
hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static struct series_cache_slot *
slot_of(const struct series_cache *c, const char *key)
{
    size_t mask = c->cap - 1;
    for (size_t i = hash_str(key) & mask;; i = (i + 1) & mask)
        if (!c->slot[i].key || strcmp(c->slot[i].key, key) == 0)
            return &c->slot[i];
}

int
series_cache_get(const struct series_cache *c, int64_t agent_id, const char *name,
                 const char *labels, int64_t *id)
{
    char key[KEY_MAX];
    if (!c->cap || !make_key(key, agent_id, name, labels))
        return 0;
    const struct series_cache_slot *e = slot_of(c, key);
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
    char key[KEY_MAX];
    if (!make_key(key, agent_id, name, labels))
        return;
    if ((c->len + 1) * 2 > c->cap) {
        struct series_cache_slot *old = c->slot;
        size_t oldcap = c->cap;
        c->cap = oldcap ? oldcap * 2 : 256;
        c->slot = sm_xcalloc(c->cap, sizeof *c->slot);
        for (size_t i = 0; i < oldcap; i++)
            if (old[i].key)
                *slot_of(c, old[i].key) = old[i];
        free(old);
    }
    struct series_cache_slot *e = slot_of(c, key);
    if (!e->key) {
        e->key = sm_xstrdup(key);
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
