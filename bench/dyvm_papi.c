/* PAPI software-defined events for the executed work, and hardware counters where the machine has them
 * (papi.h). Every PAPI failure becomes an n/a event with PAPI's reason; nothing here aborts. */
#include "dyvm_papi.h"
#ifdef DYVM_HAVE_PAPI
#include <papi.h>
#endif

#include <stdarg.h>
#include <string.h>

#ifdef DYVM_HAVE_PAPI
#include <sde_lib.h>
#endif

#define PREFIX "sde:::dyvm::"

enum { KIND_MACS, KIND_TRANSC, KIND_ELEM, KINDS };
static const char *const kind_name[KINDS] = {"macs", "transc", "elem"};

/* The published totals, cumulative over the process: written by dyvm_papi_publish, read by libsde. */
static struct {
    long long forwards, total[KINDS], flops_full;
    long long stage[KINDS][STAGE_COUNT];
} pub;

/* snprintf that may truncate (names and messages here are short; a cut reason is still a reason) */
__attribute__((format(printf, 3, 4))) static void fmt(char *buf, size_t n, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, n, f, ap);
    va_end(ap);
}

/* atomic, so wrapping rather than overflowing (never near at these sizes) */
static void add(long long *c, long long v)
{
    __atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

void dyvm_papi_publish(const dyvm_work *w)
{
    uint64_t sum[KINDS] = {0, 0, 0};
    for (int s = 0; s < STAGE_COUNT; s++) {
        const uint64_t v[KINDS] = {w->macs[s], w->transc[s], w->elem[s]};
        for (int k = 0; k < KINDS; k++) {
            add(&pub.stage[k][s], (long long)v[k]);
            sum[k] += v[k];
        }
    }
    for (int k = 0; k < KINDS; k++) add(&pub.total[k], (long long)sum[k]);
    add(&pub.flops_full, (long long)(2 * sum[KIND_MACS] + sum[KIND_TRANSC] + sum[KIND_ELEM]));
    add(&pub.forwards, 1);
}

/* The SDE events a session reads, in print order: the totals, then per stage macs, transc, elem. All
 * 3 * STAGE_COUNT per-stage events are registered, but the sde component counts at most 40 events in
 * one event set, so a session leaves out the gather stage's three (data movement only: always 0). */
static int session_sde_names(char names[][64])
{
    static const char *const totals[] = {"forwards", "macs", "transc", "elem", "flops_full"};
    int n = 0;
    for (size_t i = 0; i < sizeof totals / sizeof totals[0]; i++) fmt(names[n++], 64, PREFIX "%s", totals[i]);
    for (int s = 0; s < STAGE_COUNT; s++)
        for (int k = 0; k < KINDS && s != STAGE_GATHER; k++)
            fmt(names[n++], 64, PREFIX "%s.%s", kind_name[k], dyvm_stage_name((dyvm_stage)s));
    return n;
}

/* hardware events: the preset, then native fallbacks tried when the preset cannot be counted */
static const char *const hw_events[][3] = {
    {"PAPI_TOT_CYC", NULL},
    {"PAPI_TOT_INS", NULL},
    {"PAPI_SP_OPS", "RETIRED_SSE_AVX_FLOPS:ANY", NULL}, /* AMD Zen has no PAPI_SP_OPS preset */
};
#define N_HW ((int)(sizeof hw_events / sizeof hw_events[0]))

static void session_names(dyvm_papi_session *s)
{
    char names[DYVM_PAPI_MAX_EVENTS][64];
    const int n_sde = session_sde_names(names);
    memset(s, 0, sizeof *s);
    for (int i = 0; i < n_sde + N_HW; i++) {
        dyvm_papi_event *e = &s->ev[s->n++];
        fmt(e->name, sizeof e->name, "%s", i < n_sde ? names[i] : hw_events[i - n_sde][0]);
        e->hw = i >= n_sde;
    }
}

const dyvm_papi_event *dyvm_papi_find(const dyvm_papi_session *s, const char *name)
{
    const size_t np = strlen(PREFIX);
    for (int i = 0; i < s->n; i++) {
        const char *full = s->ev[i].name;
        if (!strcmp(full, name) || (!strncmp(full, PREFIX, np) && !strcmp(full + np, name))) return &s->ev[i];
    }
    return NULL;
}

#ifdef DYVM_HAVE_PAPI

static int init_state; /* 0 not tried, 1 PAPI initialised (SDE events: sde_ok), -1 PAPI unusable */
static int sde_ok;     /* every SDE event registered */
static char init_why[256];

const char *dyvm_papi_why(void)
{
    return init_why;
}

static int reg(papi_handle_t h, const char *name, long long *counter, const char *desc)
{
    int rc = papi_sde_register_counter(h, name, PAPI_SDE_RO | PAPI_SDE_DELTA, PAPI_SDE_long_long, counter);
    if (rc != SDE_OK) {
        fmt(init_why, sizeof init_why, "papi_sde_register_counter(\"%s\") returned %d", name, rc);
        return -1;
    }
    papi_sde_describe_counter(h, name, desc);
    return 0;
}

int dyvm_papi_init(void)
{
    if (init_state) return init_state > 0 && sde_ok ? 0 : -1;
    init_state = -1;
    /* libsde keeps the registrations itself: they may come before PAPI_library_init */
    papi_handle_t h = papi_sde_init("dyvm");
    int bad = !h;
    if (bad) fmt(init_why, sizeof init_why, "papi_sde_init(\"dyvm\") failed");
    char name[64], desc[160];
    bad = bad || reg(h, "forwards", &pub.forwards, "forwards published (cumulative; DELTA)");
    for (int k = 0; k < KINDS && !bad; k++) {
        fmt(desc, sizeof desc, "%s executed by the CPU ops, all stages (work.h; cumulative; DELTA)", kind_name[k]);
        bad = reg(h, kind_name[k], &pub.total[k], desc);
        for (int s = 0; s < STAGE_COUNT && !bad; s++) {
            fmt(name, sizeof name, "%s.%s", kind_name[k], dyvm_stage_name((dyvm_stage)s));
            fmt(desc, sizeof desc, "%s executed by the CPU ops in stage %s (cumulative; DELTA)", kind_name[k],
                dyvm_stage_name((dyvm_stage)s));
            bad = reg(h, name, &pub.stage[k][s], desc);
        }
    }
    bad = bad || reg(h, "flops_full", &pub.flops_full, "2 * macs + transc + elem (cumulative; DELTA)");
    sde_ok = !bad;
    if (!PAPI_is_initialized()) {
        int rc = PAPI_library_init(PAPI_VER_CURRENT);
        if (rc != PAPI_VER_CURRENT) {
            fmt(init_why, sizeof init_why, "PAPI_library_init: %s",
                rc > 0 ? "libpapi version differs from papi.h" : PAPI_strerror(rc));
            return -1;
        }
    }
    init_state = 1;
    return sde_ok ? 0 : -1;
}

/* "CALL: PAPI's message", plus the component's disabled_reason when the event's component is disabled */
static void reason(char *buf, size_t n, const char *call, const char *event, int rc)
{
    const char *msg = PAPI_strerror(rc);
    int code, cidx = -1;
    if (PAPI_event_name_to_code(event, &code) == PAPI_OK) cidx = PAPI_get_event_component(code);
    if (cidx < 0) cidx = PAPI_get_component_index(strncmp(event, "sde:::", 6) ? "perf_event" : "sde");
    const PAPI_component_info_t *ci = cidx >= 0 ? PAPI_get_component_info(cidx) : NULL;
    char extra[300] = "";
    if (ci && ci->disabled) fmt(extra, sizeof extra, " (%s component: %s)", ci->name, ci->disabled_reason);
    fmt(buf, n, "%s: %s%s", call, msg ? msg : "unknown PAPI error", extra);
    if (!msg) fmt(buf + strlen(buf), n - strlen(buf), " %d", rc);
}

static void drop_set(int *set)
{
    PAPI_cleanup_eventset(*set);
    PAPI_destroy_eventset(set);
    *set = PAPI_NULL;
}

/* 0 when `event` can be counted in an event set of its own: added, started and stopped */
static int try_alone(const char *event, char *why, size_t n)
{
    int set = PAPI_NULL, rc = PAPI_create_eventset(&set);
    if (rc != PAPI_OK) return reason(why, n, "PAPI_create_eventset", event, rc), -1;
    long long v;
    if ((rc = PAPI_add_named_event(set, event)) != PAPI_OK)
        reason(why, n, "PAPI_add_named_event", event, rc);
    else if ((rc = PAPI_start(set)) != PAPI_OK)
        reason(why, n, "PAPI_start", event, rc);
    else if ((rc = PAPI_stop(set, &v)) != PAPI_OK)
        reason(why, n, "PAPI_stop", event, rc);
    drop_set(&set);
    return rc == PAPI_OK ? 0 : -1;
}

static void set_na(dyvm_papi_event *e, const char *why)
{
    e->ok = 0;
    fmt(e->why, sizeof e->why, "%s", why);
}

/* builds set k from the events [lo, hi) that can be added; leaves it running or destroyed */
static void build_and_start(dyvm_papi_session *s, int k, int lo, int hi)
{
    char why[256];
    int rc = PAPI_create_eventset(&s->sets[k]);
    if (rc != PAPI_OK) {
        reason(why, sizeof why, "PAPI_create_eventset", s->ev[lo].name, rc);
        for (int i = lo; i < hi; i++) set_na(&s->ev[i], why);
        s->sets[k] = PAPI_NULL;
        return;
    }
    for (int i = lo; i < hi; i++) {
        dyvm_papi_event *e = &s->ev[i];
        if (e->hw) { /* each hardware event alone first, the preset then its fallbacks */
            const char *const *cand = hw_events[i - lo];
            int found = 0;
            for (int c = 0; c < 3 && cand[c] && !found; c++)
                if (!try_alone(cand[c], c ? why : e->why, c ? sizeof why : sizeof e->why)) {
                    fmt(e->name, sizeof e->name, "%s", cand[c]);
                    found = 1;
                }
            if (!found) continue; /* e->why: the preset's reason */
        }
        if ((rc = PAPI_add_named_event(s->sets[k], e->name)) != PAPI_OK) {
            reason(e->why, sizeof e->why, e->hw ? "PAPI_add_named_event (with the other hardware events)" : "PAPI_add_named_event",
                   e->name, rc);
            continue;
        }
        e->ok = 1;
        e->why[0] = 0;
        s->map[k][s->n_in[k]++] = i;
    }
    if (s->n_in[k] && (rc = PAPI_start(s->sets[k])) != PAPI_OK) {
        reason(why, sizeof why, "PAPI_start", s->ev[s->map[k][0]].name, rc);
        for (int j = 0; j < s->n_in[k]; j++) set_na(&s->ev[s->map[k][j]], why);
        s->n_in[k] = 0;
    }
    if (s->n_in[k])
        s->running[k] = 1;
    else
        drop_set(&s->sets[k]);
}

int dyvm_papi_start(dyvm_papi_session *s)
{
    session_names(s);
    s->sets[0] = s->sets[1] = PAPI_NULL;
    dyvm_papi_init();
    int n_sde = 0;
    while (n_sde < s->n && !s->ev[n_sde].hw) n_sde++;
    if (init_state < 0) {
        for (int i = 0; i < s->n; i++) set_na(&s->ev[i], init_why);
        return -1;
    }
    if (sde_ok)
        build_and_start(s, 0, 0, n_sde);
    else
        for (int i = 0; i < n_sde; i++) set_na(&s->ev[i], init_why);
    build_and_start(s, 1, n_sde, s->n); /* started last, so that it counts little of this function */
    return s->running[0] ? 0 : -1;
}

/* reads (stop = 0) or stops set k into the session's values */
static int collect(dyvm_papi_session *s, int k, int stop)
{
    if (!s->running[k]) return -1;
    long long v[DYVM_PAPI_MAX_EVENTS];
    int rc = stop ? PAPI_stop(s->sets[k], v) : PAPI_read(s->sets[k], v);
    char why[256];
    if (rc != PAPI_OK) reason(why, sizeof why, stop ? "PAPI_stop" : "PAPI_read", s->ev[s->map[k][0]].name, rc);
    for (int j = 0; j < s->n_in[k]; j++) {
        dyvm_papi_event *e = &s->ev[s->map[k][j]];
        if (rc == PAPI_OK)
            e->value = v[j];
        else
            set_na(e, why);
    }
    if (stop) {
        s->running[k] = 0;
        drop_set(&s->sets[k]);
    }
    return rc == PAPI_OK ? 0 : -1;
}

int dyvm_papi_read(dyvm_papi_session *s)
{
    collect(s, 1, 0);
    return collect(s, 0, 0);
}

int dyvm_papi_stop(dyvm_papi_session *s)
{
    collect(s, 1, 1);
    return collect(s, 0, 1);
}

#define NA_FORMAT "n/a: %s"

#else /* built without PAPI: the same API, every event n/a */

const char *dyvm_papi_why(void)
{
    return "built without PAPI";
}

int dyvm_papi_init(void)
{
    return -1;
}

int dyvm_papi_start(dyvm_papi_session *s)
{
    session_names(s);
    for (int i = 0; i < s->n; i++) fmt(s->ev[i].why, sizeof s->ev[i].why, "%s", dyvm_papi_why());
    return -1;
}

int dyvm_papi_read(dyvm_papi_session *s)
{
    (void)s;
    return -1;
}

int dyvm_papi_stop(dyvm_papi_session *s)
{
    (void)s;
    return -1;
}

#define NA_FORMAT "n/a (%s)"

#endif

void dyvm_papi_print(const dyvm_papi_session *s, FILE *f)
{
    for (int i = 0; i < s->n; i++) {
        const dyvm_papi_event *e = &s->ev[i];
        fprintf(f, "  %-30s ", e->name);
        if (e->ok)
            fprintf(f, "%lld%s\n", e->value, e->hw ? "  (calling thread)" : "");
        else
            fprintf(f, NA_FORMAT "\n", e->why);
    }
}
