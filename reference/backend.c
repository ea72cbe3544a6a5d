/* Profile timers shared by every backend. */
#include "backend.h"

#include <time.h>

double dyvm_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

double dyvm_stage_begin(dyvm_backend *be)
{
    if (!be->profile) return 0.0;
    if (be->sync) be->sync(be);
    return dyvm_now_ms();
}

void dyvm_stage_end(dyvm_backend *be, dyvm_stage s, double t0)
{
    if (!be->profile) return;
    if (be->sync) be->sync(be);
    be->stage_ms[s] += dyvm_now_ms() - t0;
}
