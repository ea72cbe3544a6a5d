#!/usr/bin/env bash
# Probes the build's dependencies, prints one ✓/✗ line each with what it found, and writes the results
# as make variables to $1 (build/config.mk). Exit status 1 when a required one is missing.
set -u
out=${1:-build/config.mk}
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
missing=0
vars=()

try_compile() { # name, code, flags...
    local name=$1 code=$2
    shift 2
    printf '%s\n' "$code" >"$tmp/$name.c"
    "$cc" -o "$tmp/$name" "$tmp/$name.c" "$@" >"$tmp/$name.log" 2>&1
}

ok() { printf '  \342\234\223 %-10s %s\n' "$1" "$2"; }
no() { printf '  \342\234\227 %-10s %s\n' "$1" "$2"; }

echo "dependencies:"
# OpenBLAS built for OpenMP shares the OpenMP thread pool with our own loops; the pthread build spins its
# own threads, which then compete with OpenMP for the cores.
ma=$("$cc" -print-multiarch 2>/dev/null)
omp_dir=/usr/lib/${ma:-x86_64-linux-gnu}/openblas-openmp
if [ -f "$omp_dir/libopenblas.so" ]; then
    blas=(-L"$omp_dir" -Wl,-rpath,"$omp_dir" -lopenblas); blas_threading="OpenMP build"
else
    blas=(-lopenblas); blas_threading="not the OpenMP build (libopenblas-openmp-dev): its threads compete with OpenMP"
fi
if try_compile blas '#include <cblas.h>
#include <stdio.h>
int main(void){ float a=1,b=2,c=0; cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasNoTrans,1,1,1,1,&a,1,&b,1,0,&c,1); printf("%s\n", openblas_get_config()); return c!=2; }' "${blas[@]}" && "$tmp/blas" >"$tmp/blas.out"; then
    ok OpenBLAS "$(head -c 60 "$tmp/blas.out"), $blas_threading"
    vars+=("BLAS_LIBS := ${blas[*]}")
else
    no OpenBLAS "cblas.h / -lopenblas not usable (libopenblas-dev): required"; missing=1
fi
if try_compile omp '#include <omp.h>
int main(void){ return omp_get_max_threads() < 1; }' -fopenmp && "$tmp/omp"; then
    ok OpenMP "$("$cc" --version | head -1), -fopenmp"
else
    no OpenMP "-fopenmp does not link: required"; missing=1
fi
if try_compile cjson '#include <cjson/cJSON.h>
int main(void){ cJSON *j = cJSON_Parse("{}"); int ok = cJSON_IsObject(j); cJSON_Delete(j); return !ok; }' -lcjson && "$tmp/cjson"; then
    ok cJSON "libcjson $(dpkg-query -W -f='${Version}' libcjson-dev 2>/dev/null || echo found)"
else
    no cJSON "cjson/cJSON.h / -lcjson not usable (libcjson-dev): required"; missing=1
fi
if try_compile mvec '#include <immintrin.h>
__m256 _ZGVdN8v_expf(__m256);
int main(void){ float r[8]; _mm256_storeu_ps(r, _ZGVdN8v_expf(_mm256_set1_ps(0.f))); return r[0] != 1.f; }' -mavx2 -lmvec -lm; then
    ok libmvec "glibc vector math (AVX2 expf/log1pf/erff)"
else
    no libmvec "glibc libmvec not found: required"; missing=1
fi
if try_compile papi '#include <papi.h>
int main(void){ return PAPI_library_init(PAPI_VER_CURRENT) != PAPI_VER_CURRENT; }' -lpapi; then
    if "$tmp/papi" 2>/dev/null; then ok PAPI "libpapi $(dpkg-query -W -f='${Version}' libpapi-dev 2>/dev/null)"; else ok PAPI "libpapi links (PAPI_library_init fails here: counters will read n/a)"; fi
    vars+=("HAVE_PAPI := 1")
else
    no PAPI "papi.h / -lpapi not found (libpapi-dev): counters off"
    vars+=("HAVE_PAPI := 0")
fi
# nvcc on the PATH, else the toolkit's usual home (CI's environment may not put it on the PATH)
nvcc=$(command -v nvcc 2>/dev/null || true)
[ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc
if [ -n "$nvcc" ]; then
    ok nvcc "$("$nvcc" --version | tail -2 | head -1) ($nvcc)"
    vars+=("HAVE_NVCC := 1" "NVCC_PATH := $nvcc")
else
    no nvcc "not on the PATH nor in /usr/local/cuda: CUDA backend not built"
    vars+=("HAVE_NVCC := 0")
fi
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    ok GPU "$(nvidia-smi -L | head -1)"
else
    no GPU "no NVIDIA device here: nothing runs on a GPU"
fi
if command -v gnuplot >/dev/null 2>&1; then
    ok gnuplot "$(gnuplot --version)"
    vars+=("HAVE_GNUPLOT := 1")
else
    no gnuplot "not found (gnuplot-nox): plots skipped"
    vars+=("HAVE_GNUPLOT := 0")
fi
mkdir -p "$(dirname "$out")"
if [ "$missing" = 0 ]; then printf '%s\n' "${vars[@]}" >"$out"; fi
exit "$missing"
