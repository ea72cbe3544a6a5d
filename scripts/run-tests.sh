#!/usr/bin/env bash
# Runs each test program, shows its output, and closes with the totals of their
# "N passed, M failed[, K skipped]" lines. A program that crashes or prints no such line counts as a failure.
set -u
# dyvm re-runs itself with a better OpenBLAS core when the library picked a generic one for this CPU, and
# says so in one line on stderr (bench/blas_core.h). The tests that count stderr lines run with that core
# chosen up front, so they see no such line; tests/test_blas_core.sh tests the re-run itself.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -n "${DYVM:-}" ] && core=$("$DYVM" info --blas-core); then
    export OPENBLAS_CORETYPE=$core
    echo "OpenBLAS core for the tests: $core"
fi
pass=0 fail=0 skip=0
for t in "$@"; do
    echo "== $t"
    out=$("$t" 2>&1)
    rc=$?
    printf '%s\n' "$out"
    last=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)
    if [ -z "$last" ]; then
        echo "FAIL $t: exited $rc without a summary line"
        fail=$((fail + 1))
        continue
    fi
    p=$(echo "$last" | sed -E 's/^([0-9]+) passed.*/\1/')
    f=$(echo "$last" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    s=$(echo "$last" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
    pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + ${s:-0}))
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
        echo "FAIL $t: exited $rc"
        fail=$((fail + 1))
    fi
done
if [ "$skip" != 0 ]; then echo "$pass passed, $fail failed, $skip skipped"; else echo "$pass passed, $fail failed"; fi
[ "$fail" = 0 ]
