/* Stands in for tests/test_kernels_host.cu where nvcc is absent: says so. */
#include "check.h"

int main(void)
{
    check_skip("the CUDA kernels' bodies on the CPU (tests/test_kernels_host.cu): this build has no nvcc");
    return check_summary();
}
