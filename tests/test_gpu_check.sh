#!/usr/bin/env bash
# scripts/gpu-check.sh, without a GPU: its dry run (the plan: every step with a timeout and a command, the
# checks the GPU machine must run, a total under the device tool's budget; nothing run, nothing written,
# no build/ needed), its exit status 2 without build/, and two real runs on stand-ins for nvidia-smi, ldd,
# compute-sanitizer, dyvm and test_cuda: everything passing with the sanitizer refused (exit 0), and
# failures (exit 1; the rerun with CUDA_LAUNCH_BLOCKING=1; no broken line in bench.jsonl).
# shellcheck disable=SC2015 # "A && ok ... || no ...": ok always succeeds
set -u
script=$(cd "$(dirname "$0")/.." && pwd)/scripts/gpu-check.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
no() { echo "FAIL $1"; fail=$((fail + 1)); }

if bash -n "$script"; then ok "bash -n: the script parses"; else no "bash -n: the script does not parse"; fi
if command -v shellcheck >/dev/null; then
    if shellcheck "$script" >"$tmp/sc" 2>&1; then ok "shellcheck finds nothing"; else no "shellcheck: $(head -c 600 "$tmp/sc")"; fi
else
    echo "shellcheck is not installed: not checked"
fi

# Stand-ins that leave a mark when run: the dry run must run none of them (timeout included).
mkdir -p "$tmp/spy" "$tmp/repo" "$tmp/tmpdir"
for c in nvidia-smi compute-sanitizer ldd timeout ncu; do
    # shellcheck disable=SC2016 # $0 and $* belong to the stand-in
    printf '#!/bin/sh\necho "$0 $*" >>"%s/ran"\n' "$tmp" >"$tmp/spy/$c"
    chmod +x "$tmp/spy/$c"
done
dry() { # args...: the dry run in a folder without build/, its stdout in $tmp/plan
    (cd "$tmp/repo" && TMPDIR=$tmp/tmpdir PATH="$tmp/spy:$PATH" OUT=$tmp/envout bash "$script" "$@") >"$tmp/plan" 2>"$tmp/err"
}

if dry --dry-run "$tmp/out"; then ok "--dry-run exits 0 without build/ or a GPU"; else no "--dry-run: exit $?, $(head -c 300 "$tmp/err")"; fi
[ ! -s "$tmp/err" ] && ok "--dry-run writes nothing on stderr" || no "--dry-run stderr: $(head -c 300 "$tmp/err")"
made=$(find "$tmp/out" "$tmp/envout" "$tmp/tmpdir" "$tmp/repo" -mindepth 1 2>/dev/null; ls -d "$tmp/out" "$tmp/envout" 2>/dev/null)
[ -z "$made" ] && ok "--dry-run creates nothing (neither the out folder nor \$OUT, nor scratch space)" ||
    no "--dry-run created: $made"
[ ! -e "$tmp/ran" ] && ok "--dry-run runs no command" || no "--dry-run ran: $(cat "$tmp/ran")"

# Step lines: "  NN s  LABEL  $ COMMAND"; the last line "total: N s".
step_re='^ *([0-9]+) s  (.*[^ ])  \$ (.+)$'
steps=$(sed '$d' "$tmp/plan")
nsteps=$(printf '%s\n' "$steps" | grep -c .)
bad=$(printf '%s\n' "$steps" | grep -Ev "$step_re")
sum=$(printf '%s\n' "$steps" | sed -E "s/$step_re/\\1/" | awk '{ s += $1 } END { print s + 0 }')
zero=$(printf '%s\n' "$steps" | sed -E "s/$step_re/\\1/" | grep -cx '0')
last=$(tail -1 "$tmp/plan")
total=$(echo "$last" | sed -nE 's/^total: ([0-9]+) s$/\1/p')
[ -z "$bad" ] && [ "$zero" = 0 ] && ok "every step line has a timeout, a label and a command" ||
    no "step lines without a timeout, a label or a command: $bad"
[ "$nsteps" -ge 10 ] && ok "$nsteps steps (at least 10)" || no "only $nsteps steps"
if [ -n "$total" ]; then ok "the last line is '$last'"; else no "the last line is '$last', not 'total: N s'"; fi
[ "${total:--1}" = "$sum" ] && ok "the total ($total s) is the sum of the steps' timeouts" ||
    no "total '$total' but the steps' timeouts add up to $sum"
[ "${total:-999}" -lt 420 ] && ok "the total ($total s) is under 420 s (the device tool allows 600 s a command)" ||
    no "the total ${total:-?} s is not under 420 s"

has() { # name, extended regex that some step's command matches
    if printf '%s\n' "$steps" | sed -E "s/$step_re/\\3/" | grep -qE -- "$2"; then ok "the plan has $1"; else no "the plan lacks $1"; fi
}
has "test_cuda on the golden cases" '^env GOLDEN=build/golden build/tests/test_cuda$'
has "the rerun with CUDA_LAUNCH_BLOCKING=1" 'CUDA_LAUNCH_BLOCKING=1 .*build/tests/test_cuda'
for tool in memcheck racecheck initcheck synccheck; do
    has "compute-sanitizer $tool on test_cuda --sanitize" "compute-sanitizer --tool $tool .*build/tests/test_cuda --sanitize"
done
has "the paper suite into reports" 'build/dyvm bench --suite paper --backend cuda --quick --out .*/reports$'
has "the blocks suite into reports" 'build/dyvm bench --suite blocks --backend cuda --quick --out .*/reports$'
has "a benchmark with --scan v1" '--scan v1 .*--format jsonl'
has "a benchmark with --scan v2" '--scan v2 .*--format jsonl'
has "the TF32 benchmark" '--precision tf32 '
has "ldd build/dyvm" '^ldd build/dyvm$'
has "the CPU kernels and golden cases under every ISA" "build/tests/test_isa && build/tests/test_golden"
has "AVX-512 against its emulation" '^scripts/isa-emu-check.sh build/dyvm$'
has "nvidia-smi" '^nvidia-smi'
nb=$(printf '%s\n' "$steps" | grep -c -- '--format jsonl')
[ "$nb" = 7 ] && ok "7 single benchmarks, each --format jsonl" || no "$nb single benchmarks with --format jsonl, want 7"

# a real run without build/: exit 2, said in summary.txt, nothing else there
(cd "$tmp/repo" && TMPDIR=$tmp/tmpdir PATH="$tmp/spy:$PATH" bash "$script" "$tmp/nobuild") >"$tmp/out2" 2>&1
rc=$?
if [ "$rc" = 2 ] && grep -q 'build/ is missing' "$tmp/nobuild/summary.txt" && grep -qx '== done: exit 2' "$tmp/nobuild/summary.txt" &&
    [ ! -e "$tmp/ran" ]; then
    ok "without build/: exit 2, summary.txt says so, nothing run"
else
    no "without build/: exit $rc, $(head -c 300 "$tmp/out2")"
fi
bash "$script" --frobnicate >/dev/null 2>&1
rc=$?
[ "$rc" = 2 ] && ok "an unknown option: exit 2" || no "an unknown option: exit $rc"

# Real runs on stand-ins. sim: a folder with build/dyvm and build/tests/test_cuda as scripts; fake/: the
# machine's tools. FAKE_FAIL=1 breaks test_cuda and one benchmark.
sim=$tmp/sim
mkdir -p "$sim/build/tests" "$sim/build/golden/tiny" "$sim/fake"
echo "abc1234 -O2" >"$sim/build/commit.txt"
cat >"$sim/fake/nvidia-smi" <<'EOF'
#!/bin/sh
if [ $# = 0 ]; then echo "NVIDIA-SMI (stand-in)"; else printf 'name, driver_version\nNVIDIA H200, 580.159\n'; fi
EOF
cat >"$sim/fake/ldd" <<'EOF'
#!/bin/sh
printf '\tlibopenblas.so.0 => %s/build/lib/libopenblas.so.0 (0x0)\n' "$PWD"
EOF
cat >"$sim/fake/compute-sanitizer" <<'EOF'
#!/bin/sh
echo "========= COMPUTE-SANITIZER"
echo "========= Error: Device not supported"
echo "========= Program hit cudaErrorUnknown (error 999) due to \"unknown error\" on CUDA API call to cudaMalloc."
exit 1
EOF
cat >"$sim/build/tests/test_cuda" <<'EOF'
#!/bin/sh
echo "PASS embed"
if [ -n "${FAKE_FAIL:-}" ]; then echo "FAIL scan v2: max rel err 0.3 (CUDA_LAUNCH_BLOCKING=${CUDA_LAUNCH_BLOCKING:-})"; echo "1 passed, 1 failed"; exit 1; fi
echo "PASS scan"; echo "2 passed, 0 failed"
EOF
cat >"$sim/build/dyvm" <<'EOF'
#!/bin/bash
case "$*" in
*--suite*)
    args=$*
    out=${args##*--out }
    mkdir -p "$out/2026-01-01-h-cuda-quick" && for f in a.csv a.json a.dat a.png a.svg README.md env.json; do
        echo x >"$out/2026-01-01-h-cuda-quick/$f"; done && echo index >"$out/index.md"
    echo "[suite] progress" >&2 ;;
*"--scan v2 "*)
    echo "[bench] progress" >&2
    if [ -n "${FAKE_FAIL:-}" ] && [[ $* == *"--variant dyvm"* ]]; then echo '{"half":'; echo '1}'; exit 0; fi
    echo '{"schema":"dyvm-bench/1","args":"'"$*"'"}' ;;
*"--format jsonl"*) echo "[bench] progress" >&2; echo '{"schema":"dyvm-bench/1","args":"'"$*"'"}' ;;
*) echo "ran" ;;
esac
EOF
chmod +x "$sim/fake/"* "$sim/build/dyvm" "$sim/build/tests/test_cuda"
simrun() { # out folder, env...: a real run in $sim on the stand-ins
    local o=$1
    shift
    (cd "$sim" && env "$@" TMPDIR="$tmp/tmpdir" PATH="$sim/fake:$PATH" bash "$script" "$o") >"$tmp/simout" 2>&1
}

simrun "$tmp/good"
rc=$?
s=$tmp/good/summary.txt
if [ "$rc" = 0 ] && grep -qx '== done: exit 0' "$s"; then ok "all passing, sanitizer refused: exit 0"; else
    no "all passing, sanitizer refused: exit $rc, $(tail -5 "$s" 2>/dev/null)"; fi
if grep -q '^REFUSED .*compute-sanitizer memcheck' "$s" && [ "$(grep -c '^SKIPPED .*compute-sanitizer' "$s")" = 4 ] &&
    grep -q '^== not run, as compute-sanitizer refused by this machine' "$s" && ! grep -q '^PASS .*compute-sanitizer' "$s"; then
    ok "a refused compute-sanitizer is reported once, the four tools skipped, none counted as passed"
else
    no "refused compute-sanitizer: $(grep -i sanitizer "$s")"
fi
grep -q '^SKIPPED .*CUDA_LAUNCH_BLOCKING=1.*(test_cuda passed)' "$s" && ok "no rerun when test_cuda passed" ||
    no "rerun: $(grep CUDA_LAUNCH "$s")"
[ "$(grep -c '^SKIPPED .*AVX-512.*(this CPU has no AVX-512 (dyvm info --isas: ran))$' "$s")" = 2 ] &&
    ok "the 2 AVX-512 checks skipped, with the reason, where dyvm info --isas lists no avx512" ||
    no "AVX-512 checks: $(grep AVX-512 "$s")"
grep -q '^PASS .*test_cuda (all CUDA tests) — 2 passed, 0 failed$' "$s" && ok "summary: test_cuda with its counts" ||
    no "summary lacks test_cuda's line: $(grep test_cuda "$s")"
grep -q '^PASS  *exit 0  *[0-9]* s  bench vim-s dyvm batch 128 fp32 scan v2' "$s" &&
    ok "summary: a benchmark's line names its preset, variant, batch, precision and scan" ||
    no "summary lacks the benchmark's label: $(grep bench "$s" | head -3)"
if [ "$(wc -l <"$tmp/good/bench.jsonl")" = 7 ] && ! grep -vq '^{"schema":"dyvm-bench/1".*}$' "$tmp/good/bench.jsonl"; then
    ok "bench.jsonl: 7 lines, one JSON document each"
else
    no "bench.jsonl: $(head -c 400 "$tmp/good/bench.jsonl")"
fi
if tar tzf "$tmp/good/reports.tgz" 2>/dev/null | grep -q '^reports/2026-01-01-h-cuda-quick/README.md$'; then
    ok "reports.tgz holds the suites' report folder"
else
    no "reports.tgz: $(tar tzf "$tmp/good/reports.tgz" 2>&1 | head -5)"
fi
nfiles=$(find "$tmp/good" -type f | wc -l)
deep=$(find "$tmp/good" -mindepth 3)
[ "$nfiles" -le 8 ] && [ -z "$deep" ] && ok "$nfiles files under the out folder (the device tool returns 8)" ||
    no "$nfiles files under the out folder: $(find "$tmp/good" | head -20)"
[ -z "$(find "$tmp/tmpdir" -mindepth 1)" ] && ok "the scratch folder is removed at the end" || no "left behind: $(ls -A "$tmp/tmpdir")"

simrun "$tmp/bad" FAKE_FAIL=1
rc=$?
s=$tmp/bad/summary.txt
[ "$rc" = 1 ] && grep -qx '== done: exit 1' "$s" && ok "failures: exit 1" || no "failures: exit $rc, $(tail -3 "$s" 2>/dev/null)"
grep -q '^FAIL .*CUDA_LAUNCH_BLOCKING=1.*CUDA_LAUNCH_BLOCKING=1)$' "$s" &&
    grep -q 'CUDA_LAUNCH_BLOCKING=1)' "$tmp/bad/tests.log" && ok "a failed test_cuda is rerun with CUDA_LAUNCH_BLOCKING=1" ||
    no "rerun: $(grep CUDA_LAUNCH "$s")"
grep -q '^FAIL .*dyvm batch 128 fp32 scan v2 — exit 0 but 2 lines' "$s" && [ "$(wc -l <"$tmp/bad/bench.jsonl")" = 6 ] &&
    ! grep -q half "$tmp/bad/bench.jsonl" && ok "a benchmark printing 2 lines fails and adds nothing to bench.jsonl" ||
    no "two-line benchmark: $(grep 'scan v2' "$s") / $(wc -l <"$tmp/bad/bench.jsonl") lines"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
