/* sample_depth.c: the host depth sections of a sample (issue 20) in JSON, both ways.
 *
 * One field table per family says, for each member, its JSON key, where it sits, its
 * type and range: the encoder writes what is present, the decoder checks every member
 * against the same table, so the two cannot drift apart. The input is untrusted
 * (POST /ingest): each list is capped, each string is bounded and free of control
 * bytes, each number is range-checked, and every error names the field by its path
 * ("processes[3].cmdline"). */
#include "config.h"

#include "sample.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xmalloc.h"

#define U63 9223372036854775808.0
#define I31 2147483648.0
#define MAX_CPU_PCT (100.0 * SM_MAX_CORES) /* of one core: a process may use them all */

enum fkind {
    F_STR,   /* char[size]; required: present and non-empty */
    F_NUM,   /* double in [min, max]; NAN when absent */
    F_WHOLE, /* int64_t, a whole number in [min, max); -1 when absent */
};

struct field {
    const char *key;
    size_t off;
    enum fkind kind;
    size_t size; /* F_STR: the buffer */
    double min, max;
    int required;
};

#define S(T, k, m, req)                                                                            \
    {                                                                                              \
        k, offsetof(T, m), F_STR, sizeof((T *)0)->m, 0, 0, req                                     \
    }
#define N(T, k, m, lo, hi)                                                                         \
    {                                                                                              \
        k, offsetof(T, m), F_NUM, 0, lo, hi, 0                                                     \
    }
#define W(T, k, m, lo, hi, req)                                                                    \
    {                                                                                              \
        k, offsetof(T, m), F_WHOLE, 0, lo, hi, req                                                 \
    }

#define P struct sm_sample_proc
static const struct field proc_fields[] = {
    W(P, "pid", pid, 1, I31, 1),
    W(P, "ppid", ppid, 0, I31, 0),
    S(P, "user", user, 0),
    S(P, "state", state, 0),
    S(P, "name", name, 1),
    S(P, "cmdline", cmdline, 0),
    N(P, "cpu_percent", cpu_percent, 0, MAX_CPU_PCT),
    W(P, "rss_bytes", rss, 0, U63, 0),
    W(P, "threads", threads, 0, I31, 0),
    N(P, "read_bytes_per_s", read_bps, 0, U63),
    N(P, "write_bytes_per_s", write_bps, 0, U63),
    N(P, "start_time", start_time, 0, U63),
};
#undef P

#define T struct sm_sample_sensor
static const struct field sensor_fields[] = {
    S(T, "kind", kind, 1),
    S(T, "chip", chip, 1),
    S(T, "label", label, 1),
    N(T, "celsius", celsius, -273.15, 1000),
    N(T, "rpm", rpm, 0, 1e6),
    N(T, "high_celsius", high, -273.15, 1000),
    N(T, "crit_celsius", crit, -273.15, 1000),
};
#undef T

#define C struct sm_sample_cgroup
static const struct field cgroup_fields[] = {
    S(C, "kind", kind, 1),
    S(C, "name", name, 1),
    N(C, "cpu_percent", cpu_percent, 0, MAX_CPU_PCT),
    W(C, "memory_bytes", mem_bytes, 0, U63, 0),
    N(C, "read_bytes_per_s", read_bps, 0, U63),
    N(C, "write_bytes_per_s", write_bps, 0, U63),
    W(C, "pids", pids, 0, I31, 0),
};
#undef C

#define G struct sm_sample_gpu
static const struct field gpu_fields[] = {
    S(G, "vendor", vendor, 0),
    S(G, "name", name, 1),
    S(G, "id", id, 0),
    N(G, "busy_percent", busy_percent, 0, 100),
    W(G, "memory_used_bytes", mem_used, 0, U63, 0),
    W(G, "memory_total_bytes", mem_total, 0, U63, 0),
    N(G, "celsius", temp_c, -273.15, 1000),
    N(G, "power_watts", power_w, 0, 1e5),
    N(G, "clock_core_mhz", clock_core_mhz, 0, 1e6),
    N(G, "clock_mem_mhz", clock_mem_mhz, 0, 1e6),
};
#undef G

#undef S
#undef N
#undef W

#define NF(a) (sizeof(a) / sizeof(a)[0])

/* One list of a sample: its key, cap, entry size and the sample's array. */
struct list {
    const char *key;
    size_t cap;
    const struct field *fields;
    size_t nfields;
};

static const struct list procs_list = {"processes", SM_MAX_PROCS, proc_fields, NF(proc_fields)};
static const struct list sensors_list = {"sensors", SM_MAX_SENSORS, sensor_fields,
                                         NF(sensor_fields)};
static const struct list cgroups_list = {"cgroups", SM_MAX_CGROUPS, cgroup_fields,
                                         NF(cgroup_fields)};
static const struct list gpus_list = {"gpus", SM_MAX_GPUS, gpu_fields, NF(gpu_fields)};

static const char *const psi_keys[3] = {"cpu", "memory", "io"};
static const char *const psi_lines[2] = {"some_avg10", "full_avg10"};

/*---------------------------------------------------------------- encoding */

/* Add item under k (to an array when k is NULL), deleting it when cJSON cannot. */
static void
put(cJSON *o, const char *k, cJSON *item)
{
    if (!(k ? cJSON_AddItemToObject(o, k, item) : cJSON_AddItemToArray(o, item)))
        cJSON_Delete(item);
}

/* The decimal digits of v into out; their count. */
static size_t
fmt_u64(char *out, uint64_t v)
{
    char d[20];
    size_t n = 0, o = 0;
    do
        d[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n > 0)
        out[o++] = d[--n];
    return o;
}

/* A whole number as JSON: exact to 2^63 (cJSON prints a double, 15 digits) and
 * without cJSON's printf. */
static cJSON *
whole_item(int64_t v)
{
    char buf[24];
    size_t o = 0;
    uint64_t u = (uint64_t)v;
    if (v < 0) {
        buf[o++] = '-';
        u = 0 - u;
    }
    o += fmt_u64(buf + o, u);
    buf[o] = '\0';
    return cJSON_CreateRaw(buf);
}

/* v rounded to 2 decimals, the text cJSON prints for it ("12", "71.7",
 * "1796609352.96") without its printf and sscanf round trip per number, which was
 * most of the agent's encoding time: its length in out, or 0 from 1e13 on (cJSON's 15
 * significant digits would drop the cents) and for non-finite values, where the
 * callers fall back to printf's %.15g. */
static size_t
fmt_cents(char out[32], double v)
{
    double r = round(v * 100.0);
    if (!(fabs(r) < 1e15))
        return 0;
    int64_t c = (int64_t)r;
    size_t o = 0;
    if (c < 0) {
        out[o++] = '-';
        c = -c;
    }
    o += fmt_u64(out + o, (uint64_t)(c / 100));
    int frac = (int)(c % 100);
    if (frac != 0) {
        out[o++] = '.';
        out[o++] = (char)('0' + frac / 10);
        if (frac % 10 != 0)
            out[o++] = (char)('0' + frac % 10);
    }
    out[o] = '\0';
    return o;
}

static cJSON *
num_item(double v)
{
    char buf[32];
    if (fmt_cents(buf, v) == 0)
        return cJSON_CreateNumber(round(v * 100.0) / 100.0);
    return cJSON_CreateRaw(buf);
}

static cJSON *
enc_entry(const void *base, const struct list *l)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; i < l->nfields; i++) {
        const struct field *f = &l->fields[i];
        const char *p = (const char *)base + f->off;
        if (f->kind == F_STR) {
            if (*p != '\0' || f->required)
                put(o, f->key, cJSON_CreateString(p));
        } else if (f->kind == F_WHOLE) {
            int64_t v = *(const int64_t *)(const void *)p;
            if (v >= 0)
                put(o, f->key, whole_item(v));
        } else {
            double v = *(const double *)(const void *)p;
            if (isfinite(v)) /* 2 decimals keep the JSON short */
                put(o, f->key, num_item(v));
        }
    }
    return o;
}

static void
enc_list(cJSON *o, const struct list *l, const void *arr, size_t n, size_t size, int always)
{
    if (n == 0 && !always)
        return;
    cJSON *a = cJSON_AddArrayToObject(o, l->key);
    for (size_t i = 0; i < n; i++)
        put(a, NULL, enc_entry((const char *)arr + i * size, l));
}

void
sm_sample_depth_to_json(const struct sm_sample *s, cJSON *o)
{
    if (s->have & SM_HAVE_PROCS)
        enc_list(o, &procs_list, s->procs, s->nprocs, sizeof *s->procs, 1);
    enc_list(o, &sensors_list, s->sensors, s->nsensors, sizeof *s->sensors, 0);
    if (s->have & SM_HAVE_PSI) {
        cJSON *p = cJSON_AddObjectToObject(o, "pressure");
        for (int r = 0; r < 3; r++) {
            if (!isfinite(s->psi[r][0]) && !isfinite(s->psi[r][1]))
                continue;
            cJSON *res = cJSON_AddObjectToObject(p, psi_keys[r]);
            for (int k = 0; k < 2; k++)
                if (isfinite(s->psi[r][k]))
                    put(res, psi_lines[k], num_item(s->psi[r][k]));
        }
    }
    enc_list(o, &cgroups_list, s->cgroups, s->ncgroups, sizeof *s->cgroups, 0);
    enc_list(o, &gpus_list, s->gpus, s->ngpus, sizeof *s->gpus, 0);
}

/* The most text sm_sample_procs_json writes; the caps on processes and command lines
 * keep a snapshot far below it (64 processes of at most about 3 KiB escaped). */
#define PROCS_JSON_MAX (1u << 20)

static void
tb_put(struct sm_buf *b, const char *s, size_t n, int *bad)
{
    if (sm_buf_add(b, s, n) != SM_OK)
        *bad = 1;
}

static void
tb_str(struct sm_buf *b, const char *s, int *bad)
{
    tb_put(b, "\"", 1, bad);
    for (const char *run = s;; s++) {
        unsigned char c = (unsigned char)*s;
        if (c != '\0' && c != '"' && c != '\\' && c >= 0x20)
            continue;
        tb_put(b, run, (size_t)(s - run), bad);
        if (c == '\0')
            break;
        char esc[8];
        int n = c == '"'    ? snprintf(esc, sizeof esc, "\\\"")
                : c == '\\' ? snprintf(esc, sizeof esc, "\\\\")
                            : snprintf(esc, sizeof esc, "\\u%04x", c);
        tb_put(b, esc, (size_t)n, bad);
        run = s + 1;
    }
    tb_put(b, "\"", 1, bad);
}

char *
sm_sample_procs_json(const struct sm_sample *s)
{
    if (!(s->have & SM_HAVE_PROCS))
        return NULL;
    const struct list *l = &procs_list;
    struct sm_buf b;
    int bad = 0;
    sm_buf_init(&b, PROCS_JSON_MAX, 0);
    tb_put(&b, "[", 1, &bad);
    for (size_t i = 0; i < s->nprocs; i++) {
        const char *base = (const char *)&s->procs[i];
        int first = 1;
        tb_put(&b, i ? ",{" : "{", i ? 2 : 1, &bad);
        for (size_t k = 0; k < l->nfields; k++) {
            const struct field *f = &l->fields[k];
            const char *p = base + f->off;
            char num[40];
            size_t n = 0;
            if (f->kind == F_STR) {
                if (*p == '\0' && !f->required)
                    continue;
            } else if (f->kind == F_WHOLE) {
                int64_t v = *(const int64_t *)(const void *)p;
                if (v < 0)
                    continue;
                n = fmt_u64(num, (uint64_t)v);
            } else {
                double v = *(const double *)(const void *)p;
                if (!isfinite(v))
                    continue;
                /* 2 decimals, as sm_sample_depth_to_json writes them */
                if ((n = fmt_cents(num, v)) == 0)
                    n = (size_t)snprintf(num, sizeof num, "%.15g", round(v * 100.0) / 100.0);
            }
            if (!first)
                tb_put(&b, ",", 1, &bad);
            first = 0;
            tb_str(&b, f->key, &bad);
            tb_put(&b, ":", 1, &bad);
            if (f->kind == F_STR)
                tb_str(&b, p, &bad);
            else
                tb_put(&b, num, n, &bad);
        }
        tb_put(&b, "}", 1, &bad);
    }
    tb_put(&b, "]", 1, &bad);
    if (bad) { /* not reached within the caps: no snapshot rather than a cut one */
        sm_buf_done(&b);
        return NULL;
    }
    return sm_buf_take(&b);
}

/*---------------------------------------------------------------- decoding */

/* Member key of obj, or NULL when absent or JSON null (null means unknown). */
static const cJSON *
member(const cJSON *obj, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNull(it) ? NULL : it;
}

/* "LIST[i]" or "LIST[i].KEY" (key NULL: the entry) into buf. Formatted for errors
 * only: doing it for every member of every process was a visible share of the
 * server's ingest time. */
static const char *
epath(char *buf, size_t len, const struct list *l, size_t i, const char *key)
{
    snprintf(buf, len, "%s[%zu]%s%s", l->key, i, key ? "." : "", key ? key : "");
    return buf;
}

/* Decode entry i of list l, the object it, into base by the list's fields. */
static enum sm_rc
dec_entry(const cJSON *it, const struct list *l, size_t idx, void *base, char **cause)
{
    char fp[96];
    if (!cJSON_IsObject(it))
        return sm_sample_fail(cause, SM_EINVAL, epath(fp, sizeof fp, l, idx, NULL),
                              "must be an object");
    for (size_t i = 0; i < l->nfields; i++) {
        const struct field *f = &l->fields[i];
        char *p = (char *)base + f->off;
        const cJSON *m = member(it, f->key);
        if (m == NULL) {
            if (f->required)
                return sm_sample_fail(cause, SM_EINVAL, epath(fp, sizeof fp, l, idx, f->key),
                                      "missing");
            continue;
        }
        if (f->kind == F_STR) {
            const char *v = cJSON_IsString(m) ? m->valuestring : NULL;
            size_t len = v != NULL ? strlen(v) : 0;
            int ctl = 0;
            for (size_t k = 0; k < len; k++)
                if ((unsigned char)v[k] < 0x20 || v[k] == 0x7f)
                    ctl = 1;
            if (v == NULL || ctl || (f->required && len == 0))
                return sm_sample_fail(cause, SM_EINVAL, epath(fp, sizeof fp, l, idx, f->key),
                                      "must be a %sstring without control characters",
                                      f->required ? "non-empty " : "");
            if (len >= f->size)
                return sm_sample_fail(cause, SM_EINVAL, epath(fp, sizeof fp, l, idx, f->key),
                                      "longer than %zu bytes", f->size - 1);
            memcpy(p, v, len + 1);
            continue;
        }
        double v = cJSON_IsNumber(m) ? m->valuedouble : (double)NAN;
        if (f->kind == F_WHOLE) {
            if (!isfinite(v) || v < f->min || v >= f->max || floor(v) != v)
                return sm_sample_fail(cause, SM_EINVAL, epath(fp, sizeof fp, l, idx, f->key),
                                      "must be a whole number from %.0f to %" PRIu64, f->min,
                                      (uint64_t)f->max - 1);
            *(int64_t *)(void *)p = (int64_t)v;
        } else {
            if (!isfinite(v) || v < f->min || v > f->max)
                return sm_sample_fail(cause, SM_EINVAL, epath(fp, sizeof fp, l, idx, f->key),
                                      "must be a number from %g to %g", f->min, f->max);
            *(double *)(void *)p = v;
        }
    }
    return SM_OK;
}

/* The array member l->key of root: *arr is NULL when absent or null. */
static enum sm_rc
dec_array(const cJSON *root, const struct list *l, const cJSON **arr, char **cause)
{
    const cJSON *a = member(root, l->key);
    *arr = NULL;
    if (a == NULL)
        return SM_OK;
    if (!cJSON_IsArray(a))
        return sm_sample_fail(cause, SM_EINVAL, l->key, "must be an array");
    size_t n = 0;
    for (const cJSON *c = a->child; c != NULL; c = c->next)
        if (++n > l->cap)
            return sm_sample_fail(cause, SM_EINVAL, l->key, "more than %zu entries", l->cap);
    *arr = a;
    return SM_OK;
}

static int
one_of(const char *v, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v, names[i]) == 0)
            return 1;
    return 0;
}

static enum sm_rc
procs_decode(const cJSON *root, struct sm_sample *s, char **cause)
{
    const cJSON *a;
    enum sm_rc rc;
    if ((rc = dec_array(root, &procs_list, &a, cause)) || a == NULL)
        return rc;
    s->have |= SM_HAVE_PROCS;
    size_t i = 0;
    for (const cJSON *c = a->child; c != NULL; c = c->next, i++) {
        if ((rc = dec_entry(c, &procs_list, i, sm_sample_add_proc(s), cause)))
            return rc;
    }
    return SM_OK;
}

static enum sm_rc
sensors_decode(const cJSON *root, struct sm_sample *s, char **cause)
{
    static const char *const kinds[] = {"temp", "fan"};
    const cJSON *a;
    char path[48];
    enum sm_rc rc;
    if ((rc = dec_array(root, &sensors_list, &a, cause)) || a == NULL)
        return rc;
    size_t i = 0;
    for (const cJSON *c = a->child; c != NULL; c = c->next, i++) {
        struct sm_sample_sensor *e = sm_sample_add_sensor(s);
        if ((rc = dec_entry(c, &sensors_list, i, e, cause)))
            return rc;
        if (!one_of(e->kind, kinds, 2))
            return sm_sample_fail(cause, SM_EINVAL,
                                  epath(path, sizeof path, &sensors_list, i, NULL),
                                  "kind must be \"temp\" or \"fan\"");
        if (strchr(e->chip, '/') != NULL) /* the label "chip/label" splits at the first */
            return sm_sample_fail(cause, SM_EINVAL,
                                  epath(path, sizeof path, &sensors_list, i, NULL),
                                  "chip must not contain '/'");
        int temp = e->kind[0] == 't';
        if (!isfinite(temp ? e->celsius : e->rpm))
            return sm_sample_fail(cause, SM_EINVAL,
                                  epath(path, sizeof path, &sensors_list, i, NULL), "a %s needs %s",
                                  e->kind, temp ? "celsius" : "rpm");
        if (temp)
            e->rpm = (double)NAN;
        else
            e->celsius = e->high = e->crit = (double)NAN;
        for (size_t j = 0; j + 1 < s->nsensors; j++)
            if (strcmp(s->sensors[j].chip, e->chip) == 0 &&
                strcmp(s->sensors[j].label, e->label) == 0)
                return sm_sample_fail(cause, SM_EINVAL,
                                      epath(path, sizeof path, &sensors_list, i, NULL),
                                      "sensor \"%s/%s\" appears twice", e->chip, e->label);
    }
    return SM_OK;
}

static enum sm_rc
psi_decode(const cJSON *root, struct sm_sample *s, char **cause)
{
    char path[48];
    const cJSON *p = member(root, "pressure");
    if (p == NULL)
        return SM_OK;
    if (!cJSON_IsObject(p))
        return sm_sample_fail(cause, SM_EINVAL, "pressure", "must be an object");
    sm_sample_psi_init(s);
    for (int r = 0; r < 3; r++) {
        const cJSON *res = member(p, psi_keys[r]);
        if (res == NULL)
            continue;
        snprintf(path, sizeof path, "pressure.%s", psi_keys[r]);
        if (!cJSON_IsObject(res))
            return sm_sample_fail(cause, SM_EINVAL, path, "must be an object");
        for (int k = 0; k < 2; k++) {
            const cJSON *m = member(res, psi_lines[k]);
            if (m == NULL)
                continue;
            double v = cJSON_IsNumber(m) ? m->valuedouble : (double)NAN;
            snprintf(path, sizeof path, "pressure.%s.%s", psi_keys[r], psi_lines[k]);
            if (!isfinite(v) || v < 0 || v > 100)
                return sm_sample_fail(cause, SM_EINVAL, path, "must be a number from 0 to 100");
            s->psi[r][k] = v;
        }
    }
    return SM_OK;
}

static enum sm_rc
cgroups_decode(const cJSON *root, struct sm_sample *s, char **cause)
{
    static const char *const kinds[] = {"service", "docker", "podman", "containerd", "lxc"};
    const cJSON *a;
    char path[48];
    enum sm_rc rc;
    if ((rc = dec_array(root, &cgroups_list, &a, cause)) || a == NULL)
        return rc;
    size_t i = 0;
    for (const cJSON *c = a->child; c != NULL; c = c->next, i++) {
        struct sm_sample_cgroup *e = sm_sample_add_cgroup(s);
        if ((rc = dec_entry(c, &cgroups_list, i, e, cause)))
            return rc;
        if (!one_of(e->kind, kinds, NF(kinds)))
            return sm_sample_fail(cause, SM_EINVAL,
                                  epath(path, sizeof path, &cgroups_list, i, NULL),
                                  "kind must be service, docker, podman, containerd or lxc");
        for (size_t j = 0; j + 1 < s->ncgroups; j++)
            if (strcmp(s->cgroups[j].name, e->name) == 0)
                return sm_sample_fail(cause, SM_EINVAL,
                                      epath(path, sizeof path, &cgroups_list, i, NULL),
                                      "name \"%s\" appears twice", e->name);
    }
    return SM_OK;
}

static enum sm_rc
gpus_decode(const cJSON *root, struct sm_sample *s, char **cause)
{
    const cJSON *a;
    char path[48];
    enum sm_rc rc;
    if ((rc = dec_array(root, &gpus_list, &a, cause)) || a == NULL)
        return rc;
    size_t i = 0;
    for (const cJSON *c = a->child; c != NULL; c = c->next, i++) {
        struct sm_sample_gpu *e = sm_sample_add_gpu(s);
        if ((rc = dec_entry(c, &gpus_list, i, e, cause)))
            return rc;
        const char *key = e->id[0] ? e->id : e->name;
        for (size_t j = 0; j + 1 < s->ngpus; j++) {
            const struct sm_sample_gpu *o = &s->gpus[j];
            if (strcmp(o->id[0] ? o->id : o->name, key) == 0)
                return sm_sample_fail(cause, SM_EINVAL,
                                      epath(path, sizeof path, &gpus_list, i, NULL),
                                      "GPU \"%s\" appears twice", key);
        }
    }
    return SM_OK;
}

enum sm_rc
sm_sample_depth_from_json(const cJSON *obj, struct sm_sample *s, char **cause)
{
    enum sm_rc rc;
    if ((rc = procs_decode(obj, s, cause)) || (rc = sensors_decode(obj, s, cause)) ||
        (rc = psi_decode(obj, s, cause)) || (rc = cgroups_decode(obj, s, cause)) ||
        (rc = gpus_decode(obj, s, cause)))
        return rc;
    return SM_OK;
}
