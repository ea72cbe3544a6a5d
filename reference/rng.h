/* Seeded random numbers: xoshiro256** seeded through splitmix64. Every random thing in the suite comes
 * from one of these with a printed seed. */
#ifndef DYVM_RNG_H
#define DYVM_RNG_H

#include <stdint.h>

typedef struct { uint64_t s[4]; } dyvm_rng;

void dyvm_rng_seed(dyvm_rng *r, uint64_t seed);
uint64_t dyvm_rng_next(dyvm_rng *r);
double dyvm_rng_uniform(dyvm_rng *r);                    /* [0, 1) with 53 bits */
double dyvm_rng_normal(dyvm_rng *r);                     /* N(0, 1), Box-Muller */
double dyvm_rng_trunc_normal(dyvm_rng *r, double std, double lo, double hi); /* N(0, std) kept in [lo, hi] */
/* A stateless hash to [0, 1) of (seed, a, b, c): for per-image, per-layer decisions that must not depend
 * on the order they are drawn in. */
double dyvm_hash_uniform(uint64_t seed, uint64_t a, uint64_t b, uint64_t c);
/* FNV-1a of a string continued from h: to derive seeds from names (a suite, a configuration). */
uint64_t dyvm_hash_str(uint64_t h, const char *s);

#endif
