#!/usr/bin/env bash
# The one prepared check for a lent GPU machine (one command of at most 600 s there). Build here with `make gpu-build` (binaries,
# tests, build/lib from scripts/bundle-libs.sh, the golden cases tiny and small in build/golden), carry
# build/dyvm, build/tests/test_cuda, build/tests/test_isa, build/tests/test_golden, build/lib, build/golden
# and build/commit.txt (about 57 MB; the whole build/ is over the device tool's 64 MiB), and run
# `scripts/gpu-check.sh` there from the repository root with $OUT set.
#
#   scripts/gpu-check.sh [--dry-run] [OUTDIR]     OUTDIR: default $OUT, else gpu-check
#
# --dry-run lists every step (its timeout, label and command) and the sum of the timeouts, runs nothing and
# writes nothing. The real run goes through the same list (plan, below), each step under its own `timeout`;
# the timeouts add up to about 400 s (--dry-run prints the sum; a step that ignores SIGTERM gets 5 s more),
# and a run on a healthy machine takes a few minutes. Everything goes straight under OUTDIR as it happens,
# so a run killed halfway keeps what it finished. The device tool returns at most 8 files; it writes 7:
#   summary.txt    one line per step (verdict, exit status, seconds, label), the device, commit and date
#   nvidia-smi.txt nvidia-smi and the device query
#   tests.log      ldd build/dyvm, the CUDA tests against the CPU reference (and their rerun, if they failed),
#                  the CPU's AVX-512 kernels (where the CPU has them)
#   sanitizer.log  compute-sanitizer's memcheck, racecheck, initcheck, synccheck on test_cuda --sanitize
#   bench.log      the suites' and the single benchmarks' progress (stderr)
#   bench.jsonl    one JSON document a line, one per single GPU benchmark that exited 0
#   reports.tgz    the suites' report folder (a tar of reports/, unpack into reports/), rewritten after each
#                  suite: a report folder holds 7 files, too many to bring back one by one
# Exit status: 0 when every check passed, 1 when any failed or timed out, 2 when build/ is missing.
# compute-sanitizer refused by the machine (some machines answer «Device not supported») or absent is
# reported as such: neither a pass nor a failure of our code.
set -u

usage() { echo "usage: scripts/gpu-check.sh [--dry-run] [OUTDIR]" >&2; exit 2; }
dry=0
case "${1:-}" in
--dry-run) dry=1; shift ;;
-h | --help) usage ;;
-*) echo "gpu-check: unknown option $1" >&2; usage ;;
esac
[ $# -le 1 ] || usage
out=${1:-${OUT:-gpu-check}}
# Scratch space outside OUTDIR, so that what a killed step leaves never counts among the 8 files: the suites
# write their folders here (each finished one is packed into reports.tgz; a suite killed halfway leaves
# only its temporary folder), and a benchmark's stdout waits here until it is known to be one JSON line.
work=${TMPDIR:-/tmp}/gpu-check-work.$$

total=0 npass=0 nfail=0 nskipped=0 status=0 detail="" last=""
notrun="" refused_why="" # the compute-sanitizer checks this machine did not run, and why
skip=""   # set for one step (skip=WHY step ...): the real run reports it as skipped; the dry run lists it

# a line in summary.txt, then on stdout (from a subshell: a closed stdout must not cost the file its line)
say() {
    printf '%s\n' "$*" >>"$out/summary.txt"
    (printf '%s\n' "$*") 2>/dev/null
}

# an argument as the shell would need it, quoted only when it must be
quote() {
    local a
    for a in "$@"; do
        if [[ $a =~ ^[A-Za-z0-9_./=,:+@%-]+$ ]]; then printf ' %s' "$a"; else printf " '%s'" "${a//\'/\'\\\'\'}"; fi
    done
}

# "compute-sanitizer racecheck: test_cuda --sanitize" -> "racecheck on test_cuda"
short() { local n=${1#compute-sanitizer } r; r=${n#*: }; echo "${n%%:*} on ${r%% *}"; }

# a step's output without the lines step writes around it, and without blank lines
body() { printf '%s\n' "$1" | grep -v -e '^### ' -e '^\$ ' | grep .; }

# The last "N passed, M failed[, K skipped]" line of a test program's output. With "strict", a test that
# skips counts as failed: on the GPU machine every test must run (a skip means no device, or build/golden
# missing). Under the sanitizers a skip is only reported: --sanitize may leave out what it does not need.
tests_verdict() { # output [strict]
    local line p f s strict=${2:-}
    line=$(printf '%s\n' "$1" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)
    if [ -z "$line" ]; then detail="no summary line"; return 1; fi
    p=${line%% passed*} f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    s=$(echo "$line" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
    detail=$line
    [ "$f" = 0 ] || detail="$line; first: $(printf '%s\n' "$1" | grep -m1 '^FAIL' | cut -c1-160)"
    [ -z "$strict" ] || [ "${s:-0}" = 0 ] ||
        detail="$line (a skip is a failure here); first: $(printf '%s\n' "$1" | grep -m1 '^SKIP' | cut -c1-160)"
    [ "$f" = 0 ] && { [ -z "$strict" ] || [ "${s:-0}" = 0 ]; } && [ "$p" -gt 0 ]
}

# step KIND TIMEOUT LOG LABEL COMMAND...: one check. The dry run prints it; the real run runs COMMAND under
# timeout (stdin closed, output appended to OUTDIR/LOG) and writes its line in summary.txt. KIND says how
# its output is judged beside the exit status:
#   plain   exit 0
#   show    exit 0; the output is copied into summary.txt too
#   ldd     exit 0 and no "not found" line
#   tests   exit 0 and a summary line with 0 failed, 0 skipped, some passed
#   san     compute-sanitizer: REFUSED or MISSING when the machine does not run it, FAIL on its exit code 9
#           (it found errors), else exit 0 and, when the program prints one, a summary line with 0 failed
#   suite   exit 0; the report folder is packed into reports.tgz
#   jsonl   exit 0 and exactly one line on stdout, appended to bench.jsonl (stderr goes to LOG)
step() {
    local kind=$1 limit=$2 log=$3 label=$4
    shift 4
    local why=$skip
    skip=""
    total=$((total + limit))
    if [ "$dry" = 1 ]; then
        printf '%4d s  %s  $%s\n' "$limit" "$label" "$(quote "$@")"
        return 0
    fi
    if [ -n "$why" ]; then
        say "$(printf '%-8s exit -     0 s  %s (%s)' SKIPPED "$label" "$why")"
        case "$why" in
        compute-sanitizer*) notrun="$notrun, $(short "$label")" ;;
        *) nskipped=$((nskipped + 1)) ;;
        esac
        return 0
    fi
    local f=$out/$log t0=$SECONDS rc off verdict output shown=""
    detail=""
    off=$(stat -c %s "$f" 2>/dev/null || echo 0)
    printf '### %s\n$%s\n' "$label" "$(quote "$@")" >>"$f"
    # -k 5: a step that ignores SIGTERM at its limit is killed 5 s later
    if [ "$kind" = jsonl ]; then
        timeout -k 5 "$limit" "$@" </dev/null >"$work/stdout" 2>>"$f"
    else
        timeout -k 5 "$limit" "$@" </dev/null >>"$f" 2>&1
    fi
    rc=$?
    local secs=$((SECONDS - t0))
    output=$(tail -c +$((off + 1)) "$f")
    verdict=PASS
    [ "$rc" = 0 ] || verdict=FAIL
    case "$kind" in
    show) [ "$rc" != 0 ] || shown=$(body "$output" | sed 's/^/    /') ;;
    ldd)
        local missing
        missing=$(printf '%s\n' "$output" | awk '/not found/ {printf "%s%s", sep, $1; sep = " "}')
        [ -z "$missing" ] || { verdict=FAIL detail="not found: $missing"; } ;;
    tests) tests_verdict "$output" strict || verdict=FAIL ;;
    san)
        if printf '%s\n' "$output" | grep -q 'Device not supported'; then
            verdict=REFUSED detail="compute-sanitizer refused by this machine («Device not supported»)"
        elif [ "$rc" = 127 ] || [ "$rc" = 126 ]; then
            verdict=MISSING detail="compute-sanitizer is not on this machine"
        elif [ "$rc" = 9 ]; then # our --error-exitcode: the sanitizer found errors
            verdict=FAIL detail=$(printf '%s\n' "$output" | awk '/^=+ +[A-Za-z]/ && !/COMPUTE-SANITIZER|ERROR SUMMARY/ {
                sub(/^=+ +/, ""); print "first: " substr($0, 1, 160); exit }')
            detail="$(printf '%s\n' "$output" | grep -m1 'ERROR SUMMARY' | sed 's/^=* *//')${detail:+; $detail}"
        elif printf '%s\n' "$output" | grep -qE '^[0-9]+ passed, [0-9]+ failed'; then
            tests_verdict "$output" || verdict=FAIL
        fi ;;
    suite)
        local d newest=""
        for d in "$work"/reports/*/; do
            [ -d "$d" ] || continue # no report: the glob stayed as written
            if [ -z "$newest" ] || [ "$d" -nt "$newest" ]; then newest=$d; fi
        done
        if [ -n "$newest" ] && tar czf "$out/reports.tgz.tmp" -C "$work" reports 2>>"$f" &&
            mv "$out/reports.tgz.tmp" "$out/reports.tgz"; then
            [ "$rc" != 0 ] || detail="in reports.tgz: reports/$(basename "$newest")"
        else
            rm -f "$out/reports.tgz.tmp"
            [ "$rc" != 0 ] || { verdict=FAIL detail="exit 0 but no report to pack"; }
        fi ;;
    jsonl)
        local lines
        lines=$(wc -l <"$work/stdout")
        if [ "$rc" = 0 ] && [ "$lines" = 1 ] && [ "$(head -c 1 "$work/stdout")" = "{" ]; then
            cat "$work/stdout" >>"$out/bench.jsonl"
            detail="one line in bench.jsonl"
        else
            [ "$rc" != 0 ] || { verdict=FAIL detail="exit 0 but $lines lines on stdout, not one JSON line"; }
            cat "$work/stdout" >>"$f" # kept for reading, never in bench.jsonl
        fi
        rm -f "$work/stdout" ;;
    esac
    # timeout's own statuses: 124 at the limit, 137 killed after the grace period (or killed otherwise, sooner)
    if [ "$rc" = 124 ] || { [ "$rc" = 137 ] && [ "$secs" -ge "$limit" ]; }; then verdict=TIMEOUT detail="after $limit s"; fi
    [ "$verdict" = PASS ] || [ -n "$detail" ] ||
        detail=$(body "$output" | tail -1 | cut -c1-160)
    echo "### exit $rc in $secs s: $verdict" >>"$f"
    say "$(printf '%-8s exit %-3s %4d s  %s%s' "$verdict" "$rc" "$secs" "$label" "${detail:+ — $detail}")"
    [ -z "$shown" ] || say "$shown"
    case "$verdict" in
    PASS) npass=$((npass + 1)) ;;
    REFUSED | MISSING) notrun="$notrun, $(short "$label")" refused_why=$detail ;;
    *) nfail=$((nfail + 1)) status=1 ;;
    esac
    last=$verdict
}

# Every step, in order. The dry run lists all of them, the conditional ones too (the plan is the worst case).
plan() {
    step plain 10 nvidia-smi.txt "device: nvidia-smi" nvidia-smi
    step show 5 nvidia-smi.txt "device: name, driver, max clocks, memory" \
        nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem,memory.total --format=csv
    step ldd 5 tests.log "ldd build/dyvm: every library found" ldd build/dyvm

    step tests 80 tests.log "test_cuda (all CUDA tests)" env GOLDEN=build/golden build/tests/test_cuda
    # a kernel fault is reported at the launch that caused it only when launches are synchronous
    [ "$last" = PASS ] && skip="test_cuda passed"
    step tests 40 tests.log "test_cuda again with CUDA_LAUNCH_BLOCKING=1 (only when the first run failed)" \
        env GOLDEN=build/golden CUDA_LAUNCH_BLOCKING=1 build/tests/test_cuda

    # The CPU's AVX-512 kernels, where this machine's CPU has them (the development VM's has not): the kernel
    # and golden tests under every ISA, then the native kernels against their emulation on AVX2, bit for bit
    local isas="" no512=""
    if [ "$dry" = 0 ]; then
        isas=$(build/dyvm info --isas 2>/dev/null)
        [[ " $isas " == *" avx512 "* ]] || no512="this CPU has no AVX-512 (dyvm info --isas: ${isas:-nothing})"
    fi
    skip=$no512
    step plain 12 tests.log "the CPU kernels and golden cases under every ISA, AVX-512 included (test_isa, test_golden)" \
        env GOLDEN=build/golden sh -c 'build/tests/test_isa && build/tests/test_golden'
    skip=$no512
    step plain 8 tests.log "AVX-512 against its emulation on AVX2 (--isa avx512emu): Vim-T captures byte-identical" \
        scripts/isa-emu-check.sh build/dyvm

    # The probe is itself a check (memcheck on dyvm run): some machines refuse the sanitizer
    # («Device not supported», then error 999 at the first allocation), and then the four are not run.
    step san 15 sanitizer.log "compute-sanitizer memcheck: dyvm run tiny vim (probe: does this machine run it?)" \
        compute-sanitizer --tool memcheck --error-exitcode 9 build/dyvm run --preset tiny --variant vim --batch 3 --backend cuda
    local refused=""
    case "$last" in
    REFUSED) refused="compute-sanitizer refused by this machine" ;;
    MISSING) refused="compute-sanitizer is not on this machine" ;;
    esac
    local tool limit
    for tool in memcheck racecheck initcheck synccheck; do
        limit=25
        [ "$tool" = racecheck ] && limit=30 # it tracks every shared-memory access: the slowest of the four
        skip=$refused
        step san "$limit" sanitizer.log "compute-sanitizer $tool: test_cuda --sanitize" \
            env GOLDEN=build/golden compute-sanitizer --tool "$tool" --error-exitcode 9 build/tests/test_cuda --sanitize
    done

    step suite 35 bench.log "suite paper --quick (GPU)" \
        build/dyvm bench --suite paper --backend cuda --quick --out "$work/reports"
    step suite 40 bench.log "suite blocks --quick (GPU, and the CPU on Vim-T)" \
        build/dyvm bench --suite blocks --backend cuda --quick --out "$work/reports"

    local b p s v
    for v in "vim 1 fp32 v1" "vim 1 fp32 v2" "vim 128 fp32 v1" "vim 128 fp32 v2" "vim 128 tf32 v1" \
        "dyvm 128 fp32 v1" "dyvm 128 fp32 v2"; do
        read -r v b p s <<<"$v"
        step jsonl 9 bench.log "bench vim-s $v batch $b $p scan $s" \
            build/dyvm bench --backend cuda --preset vim-s --variant "$v" --batch "$b" --precision "$p" --scan "$s" \
            --max-time 1.5 --rounds 2 --no-peaks --format jsonl
    done
}

if [ "$dry" = 1 ]; then
    plan
    echo "total: $total s"
    exit 0
fi

mkdir -p "$out" || exit 2
rm -f "$out"/{summary.txt,nvidia-smi.txt,tests.log,sanitizer.log,bench.log,bench.jsonl,reports.tgz}
rm -rf "$work"
trap 'rm -rf "$work"' EXIT
built=unknown
[ -r build/commit.txt ] && read -r built _ <build/commit.txt
say "== gpu-check $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)," \
    "build of $built (build/commit.txt)"
if [ ! -x build/dyvm ] || [ ! -x build/tests/test_cuda ]; then
    say "build/ is missing: run make gpu-build here first and carry build"
    say "== done: exit 2"
    exit 2
fi
[ -d build/golden/tiny ] || say "build/golden/tiny is missing (make gpu-build copies it): test_cuda will skip its golden cases"
say "== plan: at most $(dry=1 total=0; plan >/dev/null; echo "$total") s (scripts/gpu-check.sh --dry-run lists the steps)"
mkdir -p "$work"
plan
[ "$npass" -gt 0 ] || status=1
say "== $npass passed, $nfail failed${notrun:+, $(($(tr -cd , <<<"$notrun" | wc -c))) not run}, $nskipped skipped"
[ -z "$notrun" ] || say "== not run, as $refused_why: ${notrun#, }." \
    "Neither passed nor failed: they did not check our code, and the exit status does not count them."
say "== done: exit $status"
exit "$status"
