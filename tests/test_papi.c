/* PAPI counters (issue 3, item 6): the executed work of a forward, published as sde:::dyvm::* events,
 * reads back through PAPI (PAPI_read / PAPI_stop, in a session and in a plain PAPI event set) equal to
 * the forward's res.work; a second forward doubles the count, a new event set reads only its own
 * forwards. Hardware events: > 0 where the machine has them, else skipped with PAPI's reason. Built
 * without PAPI, every event must read "n/a (built without PAPI)". */
#include "dyvm_papi.h"
#ifdef DYVM_HAVE_PAPI
#include <papi.h>
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "graph.h"
#include "rng.h"

/* the session's printout, as text */
static char *printed(const dyvm_papi_session *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    dyvm_papi_print(s, f);
    fclose(f);
    return buf;
}

#ifdef DYVM_HAVE_PAPI

static const uint64_t SEED = 20261127;

typedef struct {
    long long macs, transc, elem, flops_full;
} totals;

static totals sum(const dyvm_work *w)
{
    totals t = {0, 0, 0, 0};
    for (int s = 0; s < STAGE_COUNT; s++)
        t.macs += (long long)w->macs[s], t.transc += (long long)w->transc[s], t.elem += (long long)w->elem[s];
    t.flops_full = 2 * t.macs + t.transc + t.elem;
    return t;
}

static int forward(dyvm_graph *g, const float *x, int64_t B, dyvm_variant v, dyvm_result *r)
{
    char err[512];
    dyvm_run_opts o = {.variant = v, .token = TOKEN_LEARNED};
    if (dyvm_forward(g, x, B, &o, r, err, sizeof err)) return check(0, "forward %s: %s", dyvm_variant_name(v), err), -1;
    dyvm_papi_publish(&r->work); /* as `dyvm run` does after each forward */
    return 0;
}

static long long value(const dyvm_papi_session *s, const char *name, int *ok)
{
    const dyvm_papi_event *e = dyvm_papi_find(s, name);
    *ok = e && e->ok;
    return *ok ? e->value : -1;
}

/* the totals, forwards and every per-stage event of the session against `times` times the work w */
static void expect(const char *when, const dyvm_papi_session *s, const dyvm_work *w, long long times, long long forwards)
{
    const totals t = sum(w);
    const struct { const char *name; long long want; } tot[] = {
        {"macs", t.macs}, {"transc", t.transc}, {"elem", t.elem}, {"flops_full", t.flops_full}, {"forwards", forwards}};
    for (size_t i = 0; i < sizeof tot / sizeof tot[0]; i++) {
        int ok;
        const long long got = value(s, tot[i].name, &ok), want = (i < 4 ? times : 1) * tot[i].want;
        check(ok && got == want, "%s: sde:::dyvm::%s reads %lld through PAPI (res.work: %lld)%s", when, tot[i].name, got,
              want, ok ? "" : " n/a");
    }
    /* named per-stage events, then all of them */
    const struct { const char *name; uint64_t want; int nonzero; } named[] = {
        {"macs.scan", w->macs[STAGE_SCAN], 1},       {"transc.scan", w->transc[STAGE_SCAN], 1},
        {"elem.scan", w->elem[STAGE_SCAN], 1},       {"macs.in_proj", w->macs[STAGE_IN_PROJ], 1},
        {"elem.predictor", w->elem[STAGE_PREDICTOR], 0}}; /* 0 in vim */
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        int ok;
        const long long got = value(s, named[i].name, &ok), want = times * (long long)named[i].want;
        check(ok && got == want && (want > 0 || !named[i].nonzero), "%s: sde:::dyvm::%s reads %lld (res.work: %lld)", when,
              named[i].name, got, want);
    }
    int n = 0, bad = 0;
    char first[160] = "";
    for (int st = 0; st < STAGE_COUNT; st++) {
        const uint64_t want3[3] = {w->macs[st], w->transc[st], w->elem[st]};
        const char *kind[3] = {"macs", "transc", "elem"};
        for (int k = 0; k < 3; k++) {
            char name[64];
            snprintf(name, sizeof name, "%s.%s", kind[k], dyvm_stage_name((dyvm_stage)st));
            if (!dyvm_papi_find(s, name)) continue;
            int ok;
            const long long got = value(s, name, &ok), want = times * (long long)want3[k];
            n++;
            if (!ok || got != want) {
                if (!bad++) snprintf(first, sizeof first, " (first: %s reads %lld, want %lld)", name, got, want);
            }
        }
    }
    check(!bad && n >= 3 * (STAGE_COUNT - 1), "%s: %d per-stage events read back equal to res.work, %d differ%s", when, n - bad,
          bad, first);
}

/* a plain PAPI event set on the published events, without the session code */
static void plain_papi(dyvm_graph *g, const float *x, int64_t B)
{
    static const char *const names[] = {"sde:::dyvm::macs", "sde:::dyvm::flops_full", "sde:::dyvm::forwards",
                                        "sde:::dyvm::transc.scan", "sde:::dyvm::elem.out_proj"};
    enum { N = sizeof names / sizeof names[0] };
    int set = PAPI_NULL, rc = PAPI_create_eventset(&set);
    for (int i = 0; i < N && rc == PAPI_OK; i++)
        if ((rc = PAPI_add_named_event(set, names[i])) != PAPI_OK) check(0, "PAPI_add_named_event(%s): %s", names[i], PAPI_strerror(rc));
    if (rc != PAPI_OK || (rc = PAPI_start(set)) != PAPI_OK) {
        check(0, "plain PAPI event set on the sde:::dyvm events: %s", PAPI_strerror(rc));
        return;
    }
    dyvm_result r1, r2;
    long long v1[N], v2[N];
    int ok1 = !forward(g, x, B, VARIANT_TOKEN, &r1) && PAPI_read(set, v1) == PAPI_OK;
    int ok2 = ok1 && !forward(g, x, B, VARIANT_TOKEN, &r2);
    ok2 = PAPI_stop(set, v2) == PAPI_OK && ok2;
    PAPI_cleanup_eventset(set);
    PAPI_destroy_eventset(&set);
    if (!ok2) return (void)check(0, "plain PAPI event set: read or stop failed");
    const totals t1 = sum(&r1.work), t2 = sum(&r2.work);
    const long long want1[N] = {t1.macs, t1.flops_full, 1, (long long)r1.work.transc[STAGE_SCAN], (long long)r1.work.elem[STAGE_OUT_PROJ]};
    const long long want2[N] = {t1.macs + t2.macs, t1.flops_full + t2.flops_full, 2,
                                (long long)(r1.work.transc[STAGE_SCAN] + r2.work.transc[STAGE_SCAN]),
                                (long long)(r1.work.elem[STAGE_OUT_PROJ] + r2.work.elem[STAGE_OUT_PROJ])};
    for (int i = 0; i < N; i++) {
        check(v1[i] == want1[i] && want1[i] > 0, "plain PAPI_read after one token forward: %s = %lld (res.work: %lld)", names[i], v1[i],
              want1[i]);
        check(v2[i] == want2[i], "plain PAPI_stop after two: %s = %lld (res.work: %lld)", names[i], v2[i], want2[i]);
    }
    dyvm_result_free(&r1);
    dyvm_result_free(&r2);
}

int main(void)
{
    const char *golden = getenv("GOLDEN") ? getenv("GOLDEN") : "../shared/golden";
    char path[1024], err[512];
    /* work published before any event set starts must not show up in one (DELTA semantics) */
    dyvm_work early;
    memset(&early, 0x01, sizeof early);
    dyvm_papi_publish(&early);
    if (dyvm_papi_init()) {
        check_skip("every PAPI event: n/a: %s", dyvm_papi_why());
        return check_summary();
    }
    check(dyvm_papi_init() == 0, "dyvm_papi_init is idempotent");

    snprintf(path, sizeof path, "%s/tiny/weights.safetensors", golden);
    dyvm_weights w;
    if (dyvm_weights_load(&w, path, err, sizeof err)) {
        check(0, "%s", err);
        return check_summary();
    }
    const int64_t B = 2;
    dyvm_backend *be = dyvm_cpu_backend(&w);
    dyvm_graph *g = dyvm_graph_new(be, B, err, sizeof err);
    const int64_t n = B * w.cfg.channels * w.cfg.img * w.cfg.img;
    float *x = malloc(sizeof(float) * (size_t)n);
    dyvm_rng rng;
    dyvm_rng_seed(&rng, SEED);
    for (int64_t i = 0; i < n; i++) x[i] = (float)dyvm_rng_normal(&rng);

    /* one session around two dyvm forwards: read after the first, stop after the second */
    dyvm_papi_session s;
    check(dyvm_papi_start(&s) == 0, "session starts with the sde:::dyvm events counting");
    dyvm_result r1, r2;
    if (!forward(g, x, B, VARIANT_DYVM, &r1)) {
        check(dyvm_papi_read(&s) == 0, "PAPI_read of the session");
        expect("after one forward (PAPI_read)", &s, &r1.work, 1, 1);
        if (!forward(g, x, B, VARIANT_DYVM, &r2)) {
            check(!memcmp(&r1.work, &r2.work, sizeof r1.work), "the same forward twice executes the same work");
            check(dyvm_papi_stop(&s) == 0, "PAPI_stop of the session");
            expect("after two forwards (PAPI_stop)", &s, &r1.work, 2, 2);
            dyvm_result_free(&r2);
        }
        dyvm_result_free(&r1);
    }
    dyvm_papi_stop(&s);
    check(dyvm_papi_stop(&s) != 0, "stopping a stopped session is refused, not fatal");

    /* hardware events of that session */
    for (int i = 0; i < s.n; i++) {
        const dyvm_papi_event *e = &s.ev[i];
        if (!e->hw) continue;
        if (e->ok)
            check(e->value > 0, "%s counted %lld over two forwards (calling thread)", e->name, e->value);
        else
            check_skip("%s: n/a: %s", e->name, e->why);
    }
    char *text = printed(&s);
    const dyvm_papi_event *m = dyvm_papi_find(&s, "macs");
    const char *line = text ? strstr(text, "  sde:::dyvm::macs ") : NULL;
    long long shown = -1;
    int lines = 0, na_ok = 1;
    if (line) sscanf(line, " sde:::dyvm::macs %lld", &shown);
    for (const char *c = text; c && *c; c++) lines += *c == '\n';
    for (int i = 0; i < s.n; i++)
        if (!s.ev[i].ok) na_ok &= text && strstr(text, s.ev[i].why) != NULL;
    check(m && shown == m->value && lines == s.n && na_ok,
          "dyvm_papi_print: one line per event (%d), sde:::dyvm::macs %lld, n/a ones with their reason", lines, shown);
    free(text);

    /* a new session reads only its own forward, of another variant */
    if (dyvm_papi_start(&s) == 0 && !forward(g, x, B, VARIANT_VIM, &r1)) {
        dyvm_papi_stop(&s);
        expect("new session around one vim forward", &s, &r1.work, 1, 1);
        dyvm_result_free(&r1);
    }
    dyvm_papi_stop(&s);

    /* an empty session reads zero */
    dyvm_papi_start(&s);
    dyvm_papi_stop(&s);
    int zero = 1, nsde = 0;
    for (int i = 0; i < s.n; i++)
        if (!s.ev[i].hw) zero &= s.ev[i].ok && s.ev[i].value == 0, nsde++;
    check(zero && nsde > 0, "a session without a forward reads 0 on all %d sde:::dyvm events", nsde);

    plain_papi(g, x, B);

    free(x);
    dyvm_graph_free(g);
    be->destroy(be);
    dyvm_weights_free(&w);
    return check_summary();
}

#else /* built without PAPI: the same API, every event n/a */

int main(void)
{
    dyvm_work w;
    memset(&w, 1, sizeof w);
    dyvm_papi_publish(&w); /* harmless */
    dyvm_papi_session s;
    const int rc = dyvm_papi_start(&s);
    int all_na = s.n > 0;
    for (int i = 0; i < s.n; i++) all_na &= !s.ev[i].ok && !strcmp(s.ev[i].why, "built without PAPI");
    char *text = printed(&s);
    check(rc != 0 && dyvm_papi_stop(&s) != 0 && all_na && dyvm_papi_find(&s, "macs.scan") && text &&
              strstr(text, "n/a (built without PAPI)"),
          "without PAPI: %d events, each n/a (built without PAPI)", s.n);
    free(text);
    check_skip("sde:::dyvm events and hardware counters: n/a (built without PAPI)");
    return check_summary();
}

#endif
