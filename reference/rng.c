#include "rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void dyvm_rng_seed(dyvm_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t dyvm_rng_next(dyvm_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t, s[3] = rotl(s[3], 45);
    return result;
}

double dyvm_rng_uniform(dyvm_rng *r) { return (double)(dyvm_rng_next(r) >> 11) * 0x1.0p-53; }

double dyvm_rng_normal(dyvm_rng *r)
{
    double u1 = 1.0 - dyvm_rng_uniform(r), u2 = dyvm_rng_uniform(r); /* u1 in (0, 1] */
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

double dyvm_rng_trunc_normal(dyvm_rng *r, double std, double lo, double hi)
{
    for (;;) { /* rejection: the intervals used here keep > 95 % of the mass */
        double v = std * dyvm_rng_normal(r);
        if (v >= lo && v <= hi) return v;
    }
}

double dyvm_hash_uniform(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t x = seed;
    x ^= splitmix64(&x) + a;
    x ^= splitmix64(&x) + b;
    x ^= splitmix64(&x) + c;
    return (double)(splitmix64(&x) >> 11) * 0x1.0p-53;
}

uint64_t dyvm_hash_str(uint64_t h, const char *s)
{
    for (; *s; s++) h = (h ^ (uint64_t)(unsigned char)*s) * 0x100000001b3ull;
    return h;
}
