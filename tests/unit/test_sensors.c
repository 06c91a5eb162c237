/* test_sensors.c: hwmon and thermal zones on a fixture tree, and this host's. */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/sensors.h"
#include "tap.h"

static const struct sm_sensor *
find(const struct sm_sensor_list *l, const char *chip, const char *label)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].chip, chip) == 0 && strcmp(l->v[i].label, label) == 0)
            return &l->v[i];
    return NULL;
}

static void
test_fixture(const char *srcdir)
{
    char sys[1024];
    snprintf(sys, sizeof sys, "%s/tests/fixtures/depth/t0/sys", srcdir);
    struct sm_sensors *r = sm_sensors_new(sys);
    struct sm_sensor_list l;
    sm_sensor_list_init(&l);
    ok(sm_sensors_read(r, &l) == SM_OK, "fixture: read");
    ok(l.n == 10, "fixture: 10 inputs read, the broken ones left out (got %zu)", l.n);
    for (size_t i = 0; i < l.n; i++)
        diag("%s / %s = %.3f", l.v[i].chip, l.v[i].label, l.v[i].value);

    const struct sm_sensor *s = find(&l, "coretemp-isa-0000", "Package id 0");
    ok(s && s->kind == SM_SENSOR_TEMP, "coretemp named as sensors(1) does, labelled");
    ok_near(s ? s->value : 0, 45.0, 1e-9, "millidegrees to degrees");
    ok(s && s->have_high && s->have_crit && s->high == 80.0 && s->crit == 100.0,
       "max and crit limits");
    s = find(&l, "coretemp-isa-0000", "temp10");
    ok(s && s->have_high && !s->have_crit, "missing label: temp10; no crit when none given");
    ok(l.n >= 3 && strcmp(l.v[1].label, "Core 0") == 0 && strcmp(l.v[2].label, "temp10") == 0,
       "inputs in numeric order (temp2 before temp10)");
    s = find(&l, "nvme-pci-0100", "Composite");
    ok(s && s->value == 38.85 && s->crit == 84.85, "nvme through its PCI function: pci-0100");
    s = find(&l, "nct6775-isa-0a20", "fan1");
    ok(s && s->kind == SM_SENSOR_FAN && s->value == 1200 && !s->have_high, "fan without a label");
    s = find(&l, "nct6775-isa-0a20", "CPU_FAN");
    ok(s && s->value == 0, "a stopped fan reads 0 RPM");
    s = find(&l, "acpitz-virtual-0", "temp1");
    ok(s && s->value == 27.8 && s->have_crit && s->crit == 105, "device-less chip: virtual-0");
    s = find(&l, "w83795g-i2c-0-2d", "temp1");
    ok(s && s->value == -5.0, "old driver with files under device/, i2c name, below zero");
    s = find(&l, "bad?]0;x?chip-virtual-0", "lab?el");
    ok(s != NULL, "control bytes in chip and label names sanitized");
    s = find(&l, "thermal_zone0", "x86_pkg_temp");
    ok(s && s->value == 46.0 && s->have_high && s->high == 95.0 && s->crit == 105.0,
       "thermal zone with hot and critical trip points");
    ok(find(&l, "thermal_zone1", "acpitz") == NULL, "a zone with an hwmon twin is not doubled");
    ok(find(&l, "thermal_zone2", "iwlwifi_1") == NULL, "an unreadable zone is left out");
    sm_sensor_list_done(&l);
    sm_sensors_free(r);

    r = sm_sensors_new("/nonexistent");
    sm_sensor_list_init(&l);
    ok(sm_sensors_count(r) == 0 && sm_sensors_read(r, &l) == SM_EUNAVAIL && l.n == 0,
       "no hwmon, no zones: nothing, SM_EUNAVAIL");
    sm_sensor_list_done(&l);
    sm_sensors_free(r);
    sm_sensors_free(NULL);
}

/* This host: each temperature equals the sysfs file read now, when there are any. */
static void
test_host(void)
{
    struct sm_sensors *r = sm_sensors_new(NULL);
    struct sm_sensor_list l;
    sm_sensor_list_init(&l);
    if (sm_sensors_count(r) == 0) {
        ok(1, "# SKIP this host has no hwmon or thermal zone");
    } else {
        ok(sm_sensors_read(r, &l) == SM_OK, "host: read %zu inputs", l.n);
        int sane = 1;
        for (size_t i = 0; i < l.n; i++)
            if (l.v[i].kind == SM_SENSOR_TEMP && (l.v[i].value < -60 || l.v[i].value > 200))
                sane = 0;
        ok(sane, "host: temperatures between -60 and 200 degrees");
    }
    sm_sensor_list_done(&l);
    sm_sensors_free(r);
}

int
main(void)
{
    const char *srcdir = getenv("top_srcdir");
    test_fixture(srcdir ? srcdir : ".");
    test_host();
    return tap_done();
}
