/* test_series_cache.c: the ingest writer's series id cache (series_cache.c): ids found
 * by agent, name and labels exactly, through the table's growth, and nothing kept for a
 * series too long to cache. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "series_cache.h"
#include "tap.h"

int
main(void)
{
    struct series_cache c = {0};
    int64_t id = 0;
    ok(!series_cache_get(&c, 1, "cpu.usage", "", &id), "an empty cache knows nothing");

    /* Names and labels that a key joined without care would confuse. */
    series_cache_put(&c, 1, "cpu.core", "core=1", 10);
    series_cache_put(&c, 1, "cpu.cor", "ecore=1", 11);
    series_cache_put(&c, 1, "cpu.core", "core=10", 12);
    series_cache_put(&c, 2, "cpu.core", "core=1", 13);
    series_cache_put(&c, 1, "cpu.core", "", 14);
    ok(series_cache_get(&c, 1, "cpu.core", "core=1", &id) && id == 10, "agent 1 core=1");
    ok(series_cache_get(&c, 1, "cpu.cor", "ecore=1", &id) && id == 11, "the name/labels split");
    ok(series_cache_get(&c, 1, "cpu.core", "core=10", &id) && id == 12, "core=10");
    ok(series_cache_get(&c, 2, "cpu.core", "core=1", &id) && id == 13, "agent 2");
    ok(series_cache_get(&c, 1, "cpu.core", "", &id) && id == 14, "no labels");
    ok(!series_cache_get(&c, 3, "cpu.core", "core=1", &id), "an unknown agent");
    ok(!series_cache_get(&c, 1, "cpu.core", "core=2", &id), "unknown labels");
    ok(series_cache_get(&c, 1, "cpu.core", "core=1", NULL), "id may be NULL");
    series_cache_put(&c, 1, "cpu.core", "core=1", 20);
    ok(series_cache_get(&c, 1, "cpu.core", "core=1", &id) && id == 20 && c.len == 5,
       "a put again replaces the id, not a second entry");

    /* Past several doublings of the table: every id still found. */
    char name[64], labels[64];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "s%d", i % 97);
        snprintf(labels, sizeof labels, "k=%d", i);
        series_cache_put(&c, 1 + i % 7, name, labels, 1000 + i);
    }
    int found = 0;
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "s%d", i % 97);
        snprintf(labels, sizeof labels, "k=%d", i);
        found += series_cache_get(&c, 1 + i % 7, name, labels, &id) && id == 1000 + i;
    }
    ok(found == 5000, "5000 series after growing: %d found", found);
    ok(series_cache_get(&c, 2, "cpu.core", "core=1", &id) && id == 13, "the first ones too");

    /* A series longer than the cache keeps is not kept, and not found. */
    static char longname[2000];
    memset(longname, 'x', sizeof longname - 1);
    size_t before = c.len;
    series_cache_put(&c, 1, longname, "", 99);
    ok(c.len == before && !series_cache_get(&c, 1, longname, "", &id), "a too long series");

    int64_t *n = series_cache_count(&c, 4);
    ok(n && *n == -1, "a new agent's count is unknown");
    *n = 7;
    ok(*series_cache_count(&c, 4) == 7, "the count is kept");
    series_cache_clear(&c);
    ok(!series_cache_get(&c, 1, "cpu.core", "core=1", &id) && c.len == 0, "cleared");
    series_cache_put(&c, 1, "a", "", 1);
    ok(series_cache_get(&c, 1, "a", "", &id) && id == 1, "usable after clear");
    series_cache_clear(&c);
    return tap_done();
}
