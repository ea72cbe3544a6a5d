#!/usr/bin/env bash
# Runs each test program, shows its output, and closes with the totals of their
# "N passed, M failed[, K skipped]" lines. A program that crashes or prints no such line counts as a failure.
set -u
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
