/* fleet.h: the fleet table (one row per agent) as data: the figures of each row, problem
 * flags, sorting and filtering. Shared by the fleet view and batch mode in server mode;
 * reads the model only. */
#ifndef SM_SMTOP_FLEET_H
#define SM_SMTOP_FLEET_H

#include <stddef.h>
#include <stdio.h>

struct cJSON;

#include "model.h"

/* Thresholds above which a host is a problem (percent). */
#define FLEET_CPU_HIGH 90.0
#define FLEET_MEM_HIGH 90.0
#define FLEET_DISK_HIGH 90.0

enum fleet_col {
    FLEET_NAME,
    FLEET_STATE,
    FLEET_CPU,
    FLEET_LOAD,
    FLEET_MEM,
    FLEET_DISK,
    FLEET_TEMP, /* the hottest temperature sensor (shown when a host has one) */
    FLEET_GPU,  /* the busiest GPU's busy % (shown when a host has one) */
    FLEET_RX,
    FLEET_TX,
    FLEET_SEEN,
    FLEET_NCOLS
};

/* Problem bits of a row. */
enum {
    FLEET_P_OFFLINE = 1,
    FLEET_P_CPU = 2,
    FLEET_P_MEM = 4,
    FLEET_P_DISK = 8,
    FLEET_P_ALERT = 16 /* an alert is firing */
};

struct fleet_row {
    const struct model_host *h;
    int online;
    int have; /* a sample is known */
    double cpu, load, mem, disk, rx, tx;
    double temp, gpu;       /* degrees Celsius, busy %; < -273 and < 0 when absent */
    const char *disk_mount; /* the fullest filesystem */
    double seen_ago;        /* seconds since last seen; < 0 when never */
    unsigned problems;
    size_t alerts;                   /* firing alerts */
    const struct model_alert *alert; /* the worst of them (NULL: none) */
};

/* The column's header and short key name ("name", "cpu", ...). */
const char *fleet_col_title(enum fleet_col col);
/* Parse a column name; -1 when unknown. */
int fleet_col_parse(const char *name);

/* Whether column col has something to show: always, except FLEET_TEMP and FLEET_GPU,
 * which only when some host of m has a temperature sensor or a GPU busy figure. */
int fleet_col_any(const struct model *m, enum fleet_col col);

/* Fill rows (capacity cap) from the model: hosts whose name contains filter (case
 * insensitive; NULL or "" for all), sorted by col (desc: largest first; names always
 * ascending as the tie-break). now is unix time. Returns the number of rows. */
size_t fleet_rows(const struct model *m, const char *filter, enum fleet_col col, int desc,
                  double now, struct fleet_row *rows, size_t cap);

/* Format one cell of row into buf. */
char *fleet_cell(const struct fleet_row *r, enum fleet_col col, char *buf, size_t len);

/* Batch mode: a plain-text fleet frame (header line with status, column titles, one line
 * per host, an empty line); TEMP and GPU% only when fleet_col_any. Returns 0, or -1 when
 * writing failed. */
int fleet_text_frame(FILE *out, const struct model *m, double now, const char *status);

/* One alert as a line of text ("critical firing NAME AGENT METRIC{LABELS} = V  since
 * 3m"), into buf; returns buf. now is unix time. */
char *fleet_alert_text(const struct model *m, const struct model_alert *a, double now, char *buf,
                       size_t len);
/* Batch mode: one "ALERT ..." line per pending or firing alert. */
void fleet_alert_lines(FILE *out, const struct model *m, double now);
/* One alert as JSON: rule_id, name, metric, labels, severity, state, value, since. */
struct cJSON *fleet_alert_json(const struct model *m, const struct model_alert *a);

/* Batch mode --json: one line per agent, the sample in the docs/DESIGN.md section 3 shape with
 * "agent_id", "name", "online", "last_seen", the facts under "host", its pending and
 * firing alerts under "alerts", and the fleet table's "hottest_celsius" and
 * "gpu_busy_percent" when the sample has them. Returns 0 or -1. */
int fleet_json_frame(FILE *out, const struct model *m);

#endif
