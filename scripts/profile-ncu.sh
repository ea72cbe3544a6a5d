#!/usr/bin/env bash
# Nsight Compute metrics (full set: achieved bandwidth, FLOP rate, occupancy, roofline) of every kernel
# of exactly one forward, filtered to the NVTX push/pop range "profiled" of the domain "dyvm".
#   scripts/profile-ncu.sh [OUTDIR] -- <dyvm run options>
#   e.g. scripts/profile-ncu.sh prof -- --preset vim-s --variant vim --batch 8 --backend cuda
set -euo pipefail
out=${1:-profile}
shift || true
[ "${1:-}" = "--" ] && shift
mkdir -p "$out"
command -v ncu >/dev/null || { echo "profile-ncu: ncu not found (Nsight Compute)" >&2; exit 2; }
ncu --nvtx --nvtx-include 'dyvm@profiled/' --set full --force-overwrite -o "$out/dyvm" build/dyvm run --profile "$@"
ncu --import "$out/dyvm.ncu-rep" --page raw --csv \
    --metrics gpu__time_duration.sum,dram__bytes.sum.per_second,sm__throughput.avg.pct_of_peak_sustained_elapsed \
    >"$out/dyvm-kernels.csv"
echo "wrote $out/dyvm.ncu-rep and $out/dyvm-kernels.csv"
