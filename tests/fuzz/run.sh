#!/usr/bin/env bash
# tests/fuzz/run.sh BUILD SECONDS JOBS TARGET...   (make fuzz; see tests/fuzz/fuzz.mk)
# Runs BUILD/fuzz_<target> for SECONDS seconds on a copy of tests/fuzz/corpus/<target>/, JOBS targets at a
# time; prints each run's executions and rate. Exit 1 when any run found something (crash, leak, timeout,
# out-of-memory, sanitizer report): its reproducer is in BUILD/artifacts/<target>/, its log in BUILD/<target>.log.
set -u
build=$1 secs=$2 jobs=$3
shift 3
[ $# -gt 0 ] || { echo "run.sh: no targets" >&2; exit 2; }

run_one() {
    local t=$1 bin=$build/fuzz_$1 work=$build/corpus/$1 art=$build/artifacts/$1/ log=$build/$1.log dict
    [ -x "$bin" ] || { echo "fuzz_$t: $bin not built (make fuzz-build)" >&2; return 1; }
    mkdir -p "$work" "$art"
    cp -n tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null
    dict=tests/fuzz/$t.dict
    [ -f "$dict" ] || dict=tests/fuzz/safetensors.dict
    local before=$build/$t.artifacts-before
    find "$art" -type f | sort >"$before"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:symbolize=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$bin" -max_total_time="$secs" -max_len=65536 -timeout=25 -rss_limit_mb=4096 -malloc_limit_mb=4096 \
        -print_final_stats=1 -artifact_prefix="$art" -dict="$dict" "$work" >"$log" 2>&1
    local rc=$? runs secs_done rate
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    secs_done=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    if [ -n "$runs" ] && [ -n "$secs_done" ] && [ "$secs_done" -gt 0 ]; then rate=$((runs / secs_done)); else rate=?; fi
    local new found
    new=$(find "$art" -type f | sort | comm -13 "$before" -)
    found=$(printf '%s' "$new" | grep -c . || true)
    rm -f "$before"
    if [ $rc -eq 0 ] && [ $found -eq 0 ]; then
        echo "fuzz_$t: ${runs:-?} executions in ${secs_done:-?} s (${rate}/s), corpus $(ls "$work" | wc -l) files: nothing found"
        return 0
    fi
    echo "fuzz_$t: FAILED (exit $rc) after ${runs:-?} executions; log $log; reproducer:" >&2
    printf '%s\n' "$new" | sed 's/^/  /' >&2
    grep -m1 -E 'ERROR: |runtime error|invariant failed|==[0-9]+==' "$log" | sed 's/^/  /' >&2
    return 1
}

fail=0 running=0
for t in "$@"; do
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n || fail=1; running=$((running - 1)); fi
done
while [ "$running" -gt 0 ]; do wait -n || fail=1; running=$((running - 1)); done
exit $fail
