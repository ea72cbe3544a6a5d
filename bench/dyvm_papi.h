/* PAPI counters (issue 3, item 6).
 *
 * The executed-work counters of every forward (work.h) are published as PAPI software-defined events of
 * the library "dyvm" through libsde: sde:::dyvm::forwards, ::macs, ::transc, ::elem, ::flops_full
 * (= 2 * macs + transc + elem) and per stage ::macs.<stage>, ::transc.<stage>, ::elem.<stage> with the
 * names of dyvm_stage_name() ("macs.scan", "elem.in_proj", ...). They are cumulative over the process,
 * read-only, with PAPI_SDE_DELTA semantics: an event set started before a forward and read or stopped
 * after it reads exactly the work published in between.
 *
 * A session reads those events in one event set and, in a second one, the hardware events the machine
 * has: PAPI_TOT_CYC, PAPI_TOT_INS, PAPI_SP_OPS (or a native FP event when the preset is missing), each
 * tried alone. Hardware events count the calling thread only (PAPI's default), not the OpenMP workers.
 * An event that cannot be read is "n/a" with PAPI's reason; nothing here aborts or exits. Built without
 * DYVM_HAVE_PAPI, the same API reads every event as "n/a (built without PAPI)". */
#ifndef DYVM_PAPI_H
#define DYVM_PAPI_H

#include <stdio.h>

#include "work.h"

#define DYVM_PAPI_MAX_EVENTS 48

typedef struct {
    char name[64];   /* the PAPI event name: "sde:::dyvm::macs.scan", "PAPI_TOT_CYC", ... */
    long long value; /* since dyvm_papi_start, as of the last dyvm_papi_read / dyvm_papi_stop */
    int ok;          /* 0: n/a, see why */
    int hw;          /* a hardware event (calling thread only) */
    char why[256];
} dyvm_papi_event;

typedef struct {
    int n;                                   /* events: the dyvm SDE events, then the hardware ones */
    dyvm_papi_event ev[DYVM_PAPI_MAX_EVENTS];
    int sets[2];                             /* PAPI event sets: 0 SDE, 1 hardware */
    int n_in[2], map[2][DYVM_PAPI_MAX_EVENTS]; /* position in set k -> index into ev */
    int running[2];
} dyvm_papi_session;

/* Registers the SDE events and initialises PAPI; idempotent. 0 when the SDE events can be read. */
int dyvm_papi_init(void);
/* Why dyvm_papi_init failed ("" when it did not). */
const char *dyvm_papi_why(void);
/* Adds one forward's executed work into the published totals (and counts the forward). Cheap, no PAPI call. */
void dyvm_papi_publish(const dyvm_work *w);
/* Calls dyvm_papi_init, builds the session's event sets and starts them. 0 when the SDE events count;
 * otherwise -1 and every event reads n/a. A zero-initialised session may be stopped without a start. */
int dyvm_papi_start(dyvm_papi_session *s);
/* Values since start, the sets keep counting. 0 when the SDE set could be read. */
int dyvm_papi_read(dyvm_papi_session *s);
/* Final values since start; releases the event sets. 0 when the SDE set could be read. */
int dyvm_papi_stop(dyvm_papi_session *s);
/* One line per event: name, value or "n/a: reason". */
void dyvm_papi_print(const dyvm_papi_session *s, FILE *f);
/* The event by full name or by its part after "sde:::dyvm::" ("macs.scan"); NULL when not in the session. */
const dyvm_papi_event *dyvm_papi_find(const dyvm_papi_session *s, const char *name);

#endif
