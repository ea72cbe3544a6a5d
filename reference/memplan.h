/* The memory plan of a run, computed before anything is allocated: the weights, the forward graph's
 * activations for the batch, the backend's scratch and the input images, in bytes. A plan larger than the
 * memory this machine has available is refused with one line giving the bytes, before any work; and since
 * every later size is a part of a plan that fits, none of them can overflow. */
#ifndef DYVM_MEMPLAN_H
#define DYVM_MEMPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef struct {
    double weights, activations, scratch, inputs, results; /* bytes; double: no product of bounded sizes overflows it */
    double total;
} dyvm_mem_plan;

/* The forward graph's buffers for a batch of B, in bytes, in the order graph.c allocates them: h, r, u, h2,
 * r2, xz, y_fwd, y_bwd, scores, keep, pos, pos2, iota, images, features, logits, block logits, branch image
 * lists. One table for the allocation and the plan, so that the two cannot drift apart. Doubles: a plan may be
 * asked about a batch whose sizes no size_t holds. */
enum { DYVM_GRAPH_BUFFERS = 18, DYVM_GRAPH_Y_BWD = 7, DYVM_GRAPH_IMAGES = 13 };
void dyvm_graph_buffer_bytes(const dyvm_config *c, int64_t B, double bytes[DYVM_GRAPH_BUFFERS]);
/* their names, for messages ("y_bwd") */
extern const char *const dyvm_graph_buffer_names[DYVM_GRAPH_BUFFERS];
/* Bytes of the weights arena of a config (every parameter and the derived A and transposed conv weights,
 * each padded to 64 bytes). The config must have passed dyvm_config_finish. */
double dyvm_weights_bytes(const dyvm_config *c);
/* The plan of forwards of batch B on the host (the CPU backend; for the CUDA backend the host keeps only the
 * weights' copy, the inputs and the results). capture: the stream.{i} captures of dyvm run --capture. */
void dyvm_memory_plan(const dyvm_config *c, int64_t B, bool on_host, bool capture, dyvm_mem_plan *p);
/* The ops' scratch at its largest for a batch of B, in bytes (the quarter a growth adds included); fused: for a
 * backend whose fused scan holds both directions' inputs at once (backend.h, fuses_directions). */
double dyvm_scratch_bytes(const dyvm_config *c, int64_t B, bool fused);
/* Bytes this machine has available now (MemAvailable, else the free physical pages). */
double dyvm_memory_available(void);
/* 0 when the plan fits in the memory available; else -1 with one line in err ("<what> needs ... bytes
 * (weights .., activations .., ...); this machine has .. bytes available"). */
int dyvm_memory_check(const dyvm_mem_plan *p, const char *what, char *err, size_t errlen);
/* "1.23 GB" style, for messages */
const char *dyvm_bytes_str(double bytes, char *buf, size_t len);

#endif
