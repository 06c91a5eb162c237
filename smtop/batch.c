/* batch.c: plain-text and JSON frames for scripts and cron. */
#include "config.h"

#include "batch.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "format.h"

int
batch_text_frame(FILE *out, const struct model_host *h, double now)
{
    const struct sm_sample *s = &h->last;
    const struct sm_cpu *c = &s->cpu;
    char a[32], b[32], d[32];
    time_t tt = (time_t)now;
    struct tm tm;
    localtime_r(&tt, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    double up = h->have_facts && h->facts.boot_time > 0 ? now - (double)h->facts.boot_time : 0;
    fprintf(out, "smtop - %s  %s  up %s", h->name[0] ? h->name : "?", when,
            fmt_duration(a, sizeof a, up));
    if (s->have & SM_HAVE_LOAD)
        fprintf(out, "  load average: %.2f, %.2f, %.2f", c->load[0], c->load[1], c->load[2]);
    else if (h->have_last && (s->have & SM_HAVE_CPU))
        fprintf(out, "  load average: %s", fmt_absent());
    fputc('\n', out);
    if (h->have_facts)
        fprintf(out, "Host: %s, %s, %s, %s, %d cores\n", h->facts.os, h->facts.kernel,
                h->facts.arch, h->facts.cpu_model, h->facts.cores);
    if (!h->have_last) {
        fprintf(out, "no sample yet\n\n");
        return ferror(out) ? -1 : 0;
    }
    if (s->have & SM_HAVE_CPU) {
        fprintf(out, "CPU: %5.1f%%", c->usage);
        if (s->have & SM_HAVE_CPU_BREAKDOWN)
            fprintf(out, "  user %.1f  system %.1f  iowait %.1f  steal %.1f", c->user, c->system,
                    c->iowait, c->steal);
        fprintf(out, "  freq %s",
                fmt_mhz(a, sizeof a,
                        sm_sample_has(s, SM_HAVE_FREQ, SM_MISS_FREQ_CUR) ? c->freq_cur : -1));
        fputc('\n', out);
        for (size_t i = 0; i < c->ncores; i++) {
            const struct sm_core *k = &c->cores[i];
            if (!k->online) {
                fprintf(out, "cpu%-3zu offline\n", i);
                continue;
            }
            fprintf(out, "cpu%-3zu %5.1f%%  %s\n", i, k->usage, fmt_mhz(a, sizeof a, k->freq_mhz));
        }
    }
    if (s->have & SM_HAVE_MEM) {
        char p[16];
        if (s->missing & SM_MISS_MEM_PERCENT)
            snprintf(p, sizeof p, "%s", fmt_absent());
        else
            snprintf(p, sizeof p, "%.1f%%", s->mem.used_percent);
        fprintf(out, "Mem:  total %s  used %s (%s)  available %s\n",
                fmt_bytes_if(a, sizeof a, !(s->missing & SM_MISS_MEM_TOTAL), (double)s->mem.total),
                fmt_bytes_if(b, sizeof b, !(s->missing & SM_MISS_MEM_USED), (double)s->mem.used), p,
                fmt_bytes_if(d, sizeof d, !(s->missing & SM_MISS_MEM_AVAILABLE),
                             (double)s->mem.available));
    }
    if (s->have & SM_HAVE_SWAP) {
        char p[16];
        if (s->missing & SM_MISS_SWAP_PERCENT)
            snprintf(p, sizeof p, "%s", fmt_absent());
        else
            snprintf(p, sizeof p, "%.1f%%", s->mem.swap_percent);
        fprintf(
            out, "Swap: total %s  used %s (%s)\n",
            fmt_bytes_if(a, sizeof a, !(s->missing & SM_MISS_SWAP_TOTAL),
                         (double)s->mem.swap_total),
            fmt_bytes_if(b, sizeof b, !(s->missing & SM_MISS_SWAP_USED), (double)s->mem.swap_used),
            p);
    } else if (s->have & SM_HAVE_MEM) {
        fprintf(out, "Swap: %s\n", fmt_absent());
    }
    for (size_t i = 0; i < s->nfs; i++) {
        const struct sm_fs *f = &s->fs[i];
        fprintf(out, "FS:   %s  %s  %s  used %s of %s (%.1f%%)\n", f->mount, f->device, f->fstype,
                fmt_bytes(a, sizeof a, (double)f->used), fmt_bytes(b, sizeof b, (double)f->total),
                f->percent);
    }
    for (size_t i = 0; i < s->ndisks; i++) {
        const struct sm_disk *k = &s->disks[i];
        fprintf(out, "Disk: %s  read %s  write %s  busy %.1f%%\n", k->name,
                fmt_rate(a, sizeof a, k->read_bps), fmt_rate(b, sizeof b, k->write_bps),
                k->busy_percent);
    }
    for (size_t i = 0; i < s->net.nifaces; i++) {
        const struct sm_iface *f = &s->net.ifaces[i];
        fprintf(out, "Net:  %s  rx %s  tx %s\n", f->name, fmt_rate(a, sizeof a, f->rx_bps),
                fmt_rate(b, sizeof b, f->tx_bps));
    }
    fputc('\n', out);
    return ferror(out) ? -1 : 0;
}

int
batch_json_frame(FILE *out, const struct model_host *h, int id_field)
{
    cJSON *j = h->have_last ? sm_sample_to_json(&h->last) : cJSON_CreateObject();
    if (j == NULL)
        abort();
    if (h->have_facts)
        cJSON_AddItemToObject(j, "host", sm_host_to_json(&h->facts));
    if (id_field)
        cJSON_AddNumberToObject(j, "host_id", h->id);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (text == NULL)
        abort();
    fputs(text, out);
    fputc('\n', out);
    free(text);
    return ferror(out) ? -1 : 0;
}

static const struct sm_proc *busiest_v;

static int
cmp_busiest(const void *x, const void *y)
{
    const struct sm_proc *a = &busiest_v[*(const size_t *)x];
    const struct sm_proc *b = &busiest_v[*(const size_t *)y];
    if (a->cpu_percent != b->cpu_percent)
        return a->cpu_percent < b->cpu_percent ? 1 : -1;
    if (a->cpu_seconds != b->cpu_seconds)
        return a->cpu_seconds < b->cpu_seconds ? 1 : -1;
    return (a->pid > b->pid) - (a->pid < b->pid);
}

int
batch_procs_section(FILE *out, const struct sm_proc *v, size_t count, size_t n)
{
    size_t *idx = malloc((count ? count : 1) * sizeof *idx);
    if (idx == NULL)
        abort();
    for (size_t i = 0; i < count; i++)
        idx[i] = i;
    busiest_v = v;
    qsort(idx, count, sizeof *idx, cmp_busiest);
    fprintf(out, "    PID USER      S  %%CPU    RES  THR     TIME+ COMMAND\n");
    for (size_t k = 0; k < count && k < n; k++) {
        const struct sm_proc *p = &v[idx[k]];
        char user[SM_PROC_USER_LEN], cmd[SM_PROC_CMD_LEN + 2], rss[32], tm[32];
        fmt_plain(user, sizeof user, p->user);
        if (p->kernel_thread || p->cmdline[0] == '\0') {
            char c[SM_PROC_COMM_LEN + 2];
            snprintf(c, sizeof c, p->kernel_thread ? "[%s]" : "%s", p->comm);
            fmt_plain(cmd, sizeof cmd, c);
        } else {
            fmt_plain(cmd, sizeof cmd, p->cmdline);
        }
        double secs = p->cpu_seconds > 0 ? p->cpu_seconds : 0;
        unsigned long cs = (unsigned long)(secs * 100), m = cs / 6000;
        snprintf(tm, sizeof tm, "%lu:%02lu.%02lu", m, cs / 100 % 60, cs % 100);
        fprintf(out, "%7d %-9.9s %c %5.1f %6s %4u %9s %s\n", (int)p->pid, user,
                p->state > 0x20 && p->state < 0x7f ? p->state : '?', p->cpu_percent,
                fmt_bytes(rss, sizeof rss, (double)p->rss), (unsigned)p->threads, tm, cmd);
    }
    fputc('\n', out);
    free(idx);
    return ferror(out) ? -1 : 0;
}
