/* Inputs and expectations shared by the backend tests (test_cuda, also built as test_cuda_fake, and test_kernels_host). */
#ifndef DYVM_TEST_CASES_H
#define DYVM_TEST_CASES_H

#include <stdbool.h>
#include <stdint.h>

#include "graph.h"

/* Scores (B, n) made hard for a top-k of n_keep: in every image the first score left out is set equal to the
 * last one kept, so the tie sits exactly at the cut (the lower index must win), and odd images get two NaN
 * scores (NaN ranks last). */
void plant_top_k_ties(float *scores, int64_t B, int64_t n, int64_t n_keep);

/* The waits of the host for the device in one forward without captures, images already uploaded and the
 * scratch already grown (backend.h, host_syncs): the features and logits read back, one read-back of the
 * kept indices per pruning stage, and one of the block decisions per layer when the block heads decide.
 * Nothing per image, nothing per branch. */
uint64_t expected_host_syncs(const dyvm_result *r);

#endif
