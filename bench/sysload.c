#include "sysload.h"

#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "backend.h"

void dyvm_cpu_snapshot_take(dyvm_cpu_snapshot *s)
{
    memset(s, 0, sizeof *s);
    s->wall_s = dyvm_now_ms() / 1e3;
    struct rusage ru;
    if (!getrusage(RUSAGE_SELF, &ru))
        s->own_cpu_s = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
                       1e-6 * (double)ru.ru_stime.tv_usec;
    FILE *f = fopen("/proc/stat", "r");
    if (f) {
        /* cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user) */
        unsigned long long v[8] = {0};
        if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
                   &v[7]) == 8) {
            s->busy = v[0] + v[1] + v[2] + v[5] + v[6];
            s->idle = v[3] + v[4];
            s->steal = v[7];
            s->total = s->busy + s->idle + s->steal;
            s->ok = true;
        }
        fclose(f);
    }
    f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &s->loadavg1) != 1) s->loadavg1 = -1;
        fclose(f);
    }
}

void dyvm_load_between(const dyvm_cpu_snapshot *a, const dyvm_cpu_snapshot *b, dyvm_load *out)
{
    memset(out, 0, sizeof *out);
    out->seconds = b->wall_s - a->wall_s;
    out->loadavg_start = a->loadavg1, out->loadavg_end = b->loadavg1;
    out->cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (!a->ok || !b->ok || b->total <= a->total) return;
    const double total = (double)(b->total - a->total), hz = (double)sysconf(_SC_CLK_TCK);
    out->busy = (double)(b->busy - a->busy) / total;
    out->steal = (double)(b->steal - a->steal) / total;
    out->own = (b->own_cpu_s - a->own_cpu_s) * hz / total;
    out->own = out->own > out->busy ? out->busy : out->own; /* clock granularity */
    out->others = out->busy - out->own;
    out->ok = true;
}

cJSON *dyvm_load_json(const dyvm_load *l)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddBoolToObject(j, "measured", l->ok);
    cJSON_AddNumberToObject(j, "seconds", l->seconds);
    if (l->ok) {
        cJSON_AddNumberToObject(j, "cpu_busy", l->busy);
        cJSON_AddNumberToObject(j, "cpu_this_process", l->own);
        cJSON_AddNumberToObject(j, "cpu_other_processes", l->others);
        cJSON_AddNumberToObject(j, "cpu_steal", l->steal);
    }
    cJSON_AddNumberToObject(j, "loadavg_1m_start", l->loadavg_start);
    cJSON_AddNumberToObject(j, "loadavg_1m_end", l->loadavg_end);
    return j;
}

void dyvm_load_markdown(const dyvm_load *l, FILE *f)
{
    if (!l->ok) {
        fprintf(f, "| machine load | not measured (/proc/stat unreadable) |\n");
        return;
    }
    fprintf(f, "| machine load | over %.0f s on %d CPUs: %.1f %% busy (this run %.1f %%, other processes %.1f %%), "
               "%.2f %% stolen by the hypervisor; 1-min load average %.2f → %.2f |\n",
            l->seconds, l->cpus, 100 * l->busy, 100 * l->own, 100 * l->others, 100 * l->steal, l->loadavg_start,
            l->loadavg_end);
}
