#include "cases.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int by_score_desc(const void *x, const void *y)
{
    const float a = *(const float *)x, b = *(const float *)y;
    return (a < b) - (a > b);
}

void plant_top_k_ties(float *s, int64_t B, int64_t n, int64_t nk)
{
    if (nk <= 0 || nk >= n) return;
    float *row = malloc(sizeof(float) * (size_t)n);
    if (!row) abort();
    for (int64_t b = 0; b < B; b++) {
        float *sb = s + b * n;
        memcpy(row, sb, sizeof(float) * (size_t)n);
        qsort(row, (size_t)n, sizeof(float), by_score_desc);
        for (int64_t i = 0; i < n; i++)
            if (sb[i] == row[nk]) sb[i] = row[nk - 1];
        if (b % 2) sb[(b * 3) % n] = NAN, sb[(b * 5 + 1) % n] = NAN;
    }
    free(row);
}

uint64_t expected_host_syncs(const dyvm_result *r)
{
    return 2 + (uint64_t)r->n_stages + (r->block_heads_ran ? (uint64_t)r->depth : 0);
}
