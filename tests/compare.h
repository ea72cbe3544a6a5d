/* The one compare helper (SPEC.md section 9): relative L2 error ||got - ref|| / ||ref|| per tensor, and
 * any NaN or infinity in either fails. */
#ifndef DYVM_COMPARE_H
#define DYVM_COMPARE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double rel_l2;     /* ||got - ref|| / ||ref|| (absolute when ref is all zero) */
    size_t nonfinite;  /* NaN or inf elements in got or ref */
    size_t worst;      /* index of the largest |got - ref| */
} compare_result;

compare_result compare_f32(const float *got, const float *ref, size_t n);
/* Prints a PASS/FAIL line through check() and returns whether rel_l2 <= tol with no non-finite value. */
int compare_check(const char *what, const float *got, const float *ref, size_t n, double tol);
/* Exact equality of int32 arrays; prints the first difference. */
int compare_check_i32(const char *what, const int32_t *got, const int32_t *ref, size_t n);

#endif
