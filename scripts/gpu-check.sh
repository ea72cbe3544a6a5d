#!/usr/bin/env bash
# The one prepared check for a lent GPU machine (DEVELOPERS.md), about 8 minutes. Run from the repository
# root on a build made elsewhere and carried: here, `make gpu-build` (binaries, tests and build/lib from
# scripts/bundle-libs.sh); there, `scripts/gpu-check.sh` with $OUT set. It writes six files under $OUT
# (the device tool returns at most eight): summary.txt, nvidia-smi.txt, tests.log (the CUDA tests against
# the CPU reference, and the CPU reference's own executed-work test), sanitizer.log (compute-sanitizer
# memcheck and racecheck on the tiny preset), gpu-reports.tgz (the suites' report folder, to unpack into
# reports/) and bench.jsonl (the suites' progress and single GPU benchmarks, one JSON document each).
set -u
out=${1:-${OUT:-gpu-check}}
mkdir -p "$out"
status=0
say() { echo "$*" | tee -a "$out/summary.txt"; }
run() { # log file, timeout seconds, command...
    local log=$1 limit=$2
    shift 2
    local t0=$SECONDS
    echo "### $*" >>"$out/$log"
    timeout "$limit" "$@" >>"$out/$log" 2>&1
    local rc=$?
    say "   $(basename "$3" 2>/dev/null || echo "$1") ${*:3:4}: exit $rc in $((SECONDS - t0)) s"
    [ "$rc" = 0 ] || status=1
}

say "== device"
nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || status=1
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem,memory.total --format=csv 2>&1 | tee -a "$out/summary.txt"
say "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u +%FT%TZ)"
if [ ! -x build/dyvm ] || [ ! -x build/tests/test_cuda ]; then say "build/ is missing: run make gpu-build here first and carry build"; exit 2; fi
ldd build/dyvm | grep -E 'not found' | tee -a "$out/summary.txt" && status=1

say "== CUDA tests: every op and the dense variant against the CPU reference"
run tests.log 240 build/tests/test_cuda
say "   $(grep -E '^[0-9]+ passed' "$out/tests.log" | tail -1)"
say "== CPU reference here: executed work == the FLOP model"
run tests.log 120 build/tests/test_flops
say "   $(grep -E '^[0-9]+ passed' "$out/tests.log" | tail -1)"

say "== compute-sanitizer on the tiny preset"
if command -v compute-sanitizer >/dev/null; then
    for tool in memcheck racecheck; do
        run sanitizer.log 120 compute-sanitizer --tool "$tool" --error-exitcode 9 \
            build/dyvm run --preset tiny --variant vim --batch 3 --backend cuda
    done
else
    say "   compute-sanitizer not found"; status=1
fi

say "== GPU suites (paper, blocks, keep, batch, breakdown at batch 128), packed into one file"
rm -rf gpu-reports
run bench.jsonl 300 build/dyvm bench --suite all --backend cuda --out gpu-reports
tar czf "$out/gpu-reports.tgz" gpu-reports 2>/dev/null || status=1

say "== single GPU benchmarks: dense vim, strict fp32 and TF32"
for m in vim-t vim-s vim-b; do
    for b in 1 128; do
        for p in fp32 tf32; do
            run bench.jsonl 60 build/dyvm bench --backend cuda --precision "$p" --preset "$m" --variant vim \
                --batch "$b" --max-time 3 --format json
        done
    done
done
say "== done: exit $status"
exit "$status"
