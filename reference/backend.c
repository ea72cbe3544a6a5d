/* Profile timers and NVTX ranges shared by every backend. */
#include "backend.h"

#include <time.h>

void dyvm_mem_add(dyvm_backend *be, int64_t delta)
{
    be->mem_now = (uint64_t)((int64_t)be->mem_now + delta);
    if (be->mem_now > be->mem_peak) be->mem_peak = be->mem_now;
}

#ifdef DYVM_HAVE_NVTX
#include <nvtx3/nvToolsExt.h>

static nvtxDomainHandle_t domain(void)
{
    static nvtxDomainHandle_t d; /* created on first use; NVTX itself is thread-safe */
    if (!d) d = nvtxDomainCreateA("dyvm");
    return d;
}

static void push(const char *name, uint32_t argb)
{
    nvtxEventAttributes_t a = {0};
    a.version = NVTX_VERSION;
    a.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
    a.colorType = NVTX_COLOR_ARGB;
    a.color = argb;
    a.messageType = NVTX_MESSAGE_TYPE_ASCII;
    a.message.ascii = name;
    nvtxDomainRangePushEx(domain(), &a);
}

/* colours by op kind: matrix products blue, the SSM orange, norms green, data movement grey */
static uint32_t colour(dyvm_stage s)
{
    switch (s) {
    case STAGE_IN_PROJ: case STAGE_X_PROJ: case STAGE_DT_PROJ: case STAGE_OUT_PROJ: return 0xff4e79a7;
    case STAGE_CONV: case STAGE_SCAN: return 0xfff28e2b;
    case STAGE_NORM: case STAGE_HEAD: return 0xff59a14f;
    case STAGE_BLOCK_HEAD: case STAGE_PREDICTOR: return 0xffe15759;
    default: return 0xff79706e;
    }
}

void dyvm_trace_push(const char *name) { push(name, 0xffbab0ac); }
void dyvm_trace_pop(void) { nvtxDomainRangePop(domain()); }
#else
void dyvm_trace_push(const char *name) { (void)name; }
void dyvm_trace_pop(void) {}
#endif

double dyvm_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

double dyvm_stage_begin(dyvm_backend *be, dyvm_stage s)
{
#ifdef DYVM_HAVE_NVTX
    push(dyvm_stage_name(s), colour(s));
#else
    (void)s;
#endif
    if (!be->profile) return 0.0;
    if (be->sync) be->sync(be);
    return dyvm_now_ms();
}

void dyvm_stage_end(dyvm_backend *be, dyvm_stage s, double t0)
{
#ifdef DYVM_HAVE_NVTX
    nvtxDomainRangePop(domain());
#endif
    if (!be->profile) return;
    if (be->sync) be->sync(be);
    be->stage_ms[s] += dyvm_now_ms() - t0;
}
