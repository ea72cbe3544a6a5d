/* The machine's load over a run, from /proc/stat and getrusage: how busy the CPUs were, how much of it was
 * this process, and the time the hypervisor stole. A benchmark on a shared machine reports these beside its
 * numbers, so a reader can tell a slow run from a crowded one. */
#ifndef DYVM_SYSLOAD_H
#define DYVM_SYSLOAD_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct {
    bool ok;                 /* /proc/stat was readable */
    unsigned long long busy, idle, steal, total; /* jiffies over all CPUs */
    double own_cpu_s;        /* user + system CPU time of this process */
    double wall_s;           /* monotonic clock */
    double loadavg1;
} dyvm_cpu_snapshot;

typedef struct {
    bool ok;
    double seconds;          /* wall time between the snapshots */
    double busy;             /* fraction of all CPU time spent busy (any process, steal excluded) */
    double own;              /* fraction of all CPU time used by this process */
    double others;           /* busy - own, at least 0: what other processes took */
    double steal;            /* fraction stolen by the hypervisor */
    double loadavg_start, loadavg_end;
    int cpus;
} dyvm_load;

void dyvm_cpu_snapshot_take(dyvm_cpu_snapshot *s);
void dyvm_load_between(const dyvm_cpu_snapshot *a, const dyvm_cpu_snapshot *b, dyvm_load *out);
cJSON *dyvm_load_json(const dyvm_load *l);
void dyvm_load_markdown(const dyvm_load *l, FILE *f);

#endif
