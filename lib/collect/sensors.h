/* sensors.h: temperatures and fans from /sys/class/hwmon and /sys/class/thermal.
 *
 * hwmon chips are named as sensors(1) names them ("coretemp-isa-0000",
 * "nvme-pci-0100", "acpitz-virtual-0") and each input by its label file, or
 * "temp1"/"fan2" when the driver gives none. Thermal zones that have no hwmon
 * twin are added as chip "thermal_zoneN", labelled by the zone's type. The inputs
 * are found once, when the reader is created, and kept open; limits (max, crit) are
 * read then too. No hwmon and no thermal zone: an empty list, no error. Not thread
 * safe: one reader per thread. */
#ifndef SM_LIB_COLLECT_SENSORS_H
#define SM_LIB_COLLECT_SENSORS_H

#include <stddef.h>

#include "../rc.h"

#define SM_SENSOR_NAME_LEN 64
#define SM_SENSOR_MAX 256 /* inputs kept per reader; more are ignored */

enum sm_sensor_kind { SM_SENSOR_TEMP, SM_SENSOR_FAN };

struct sm_sensor {
    enum sm_sensor_kind kind;
    char chip[SM_SENSOR_NAME_LEN];  /* sanitized for display */
    char label[SM_SENSOR_NAME_LEN]; /* sanitized for display */
    double value;                   /* degrees Celsius, or RPM */
    int have_high, have_crit;
    double high, crit; /* temperatures: max (or a "hot" trip point) and crit; fans: none */
};

struct sm_sensor_list {
    struct sm_sensor *v;
    size_t n, cap;
};

void sm_sensor_list_init(struct sm_sensor_list *l);
void sm_sensor_list_done(struct sm_sensor_list *l);

struct sm_sensors;

/* Find the inputs under sys_root (NULL means "/sys"). Never returns NULL. */
struct sm_sensors *sm_sensors_new(const char *sys_root);
void sm_sensors_free(struct sm_sensors *r);

/* Number of inputs found. */
size_t sm_sensors_count(const struct sm_sensors *r);

/* Read every input into out (cleared first, capacity reused); an input that fails to
 * read this time (a sensor asleep, EIO, EAGAIN) is left out. SM_OK, or SM_EUNAVAIL when
 * the machine has no inputs at all. */
enum sm_rc sm_sensors_read(struct sm_sensors *r, struct sm_sensor_list *out) SM_MUST_CHECK;

#endif
