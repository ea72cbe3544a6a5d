#!/usr/bin/env bash
# Nsight Systems timeline of exactly one forward (after 3 warm-up forwards) of a chosen configuration,
# captured by its NVTX range "profiled" in the domain "dyvm" (forward, layers and ops are nested ranges).
#   scripts/profile-nsys.sh [OUTDIR] -- <dyvm run options>
#   e.g. scripts/profile-nsys.sh prof -- --preset vim-s --variant vim --batch 128 --backend cuda
set -euo pipefail
out=${1:-profile}
shift || true
[ "${1:-}" = "--" ] && shift
mkdir -p "$out"
command -v nsys >/dev/null || { echo "profile-nsys: nsys not found (Nsight Systems)" >&2; exit 2; }
# nsys matches only registered NVTX strings by default; our range names are plain strings
export NSYS_NVTX_PROFILER_REGISTER_ONLY=0
nsys profile --trace=cuda,nvtx,osrt --capture-range=nvtx --nvtx-capture='profiled@dyvm' \
    --capture-range-end=stop --force-overwrite=true -o "$out/dyvm" build/dyvm run --profile "$@"
nsys stats --report cuda_gpu_kern_sum,nvtx_sum --format csv --output "$out/dyvm" "$out/dyvm.nsys-rep" >/dev/null
echo "wrote $out/dyvm.nsys-rep and $out/dyvm_*.csv"
