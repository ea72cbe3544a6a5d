#!/usr/bin/env bash
# The measuring scripts. scripts/sol-spread.sh: its table (one row per run; each row's sol is its floor over
# its median, as dyvm computed them; the spread line matches the rows) and its refusals (one line on stderr,
# exit 2). scripts/isa-emu-check.sh: identical and differing captures told apart, and AVX-512 against its
# emulation: byte-identical where the CPU has AVX-512, refused (exit 2) where it has not.
# Usage: DYVM=build/dyvm tests/test_scripts.sh (from the repository root; python3 is needed).
set -u
dyvm=${DYVM:-build/dyvm}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0 skip=0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
no() { echo "FAIL $1"; fail=$((fail + 1)); }

# two runs of the tiny preset, no pause
if scripts/sol-spread.sh "$dyvm" 2 0 -- --preset tiny --threads 1 >"$tmp/out" 2>"$tmp/err"; then
    ok "sol-spread.sh: 2 runs of the tiny preset"
else
    no "sol-spread.sh: 2 runs of the tiny preset: $(tail -n 1 "$tmp/err")"
fi
if python3 - "$tmp/out" <<'PY'; then
import re, statistics as st, sys
lines = open(sys.argv[1]).read().splitlines()
rows = [l for l in lines if re.match(r"\| [0-9]+ \|", l)]
assert len(rows) == 2, "%d table rows, not 2" % len(rows)
sols = []
for k, row in enumerate(rows, 1):
    c = [x.strip() for x in row.strip("|").split("|")]
    assert int(c[0]) == k, row
    floor, median, fastest, sol = float(c[6]), float(c[7]), float(c[8]), float(c[9])
    assert 0 < fastest <= median, row
    # floor and median are rounded to 3 significant digits (up to 0.5 % each), sol to 2 decimals
    assert abs(floor / median - sol) <= 0.005 + 0.011 * sol, row
    sols.append(sol)
spread = [re.match(r"sol ([0-9.]+)–([0-9.]+) \(median ([0-9.]+)\);", l) for l in lines if l.startswith("sol ")]
assert len(spread) == 1 and spread[0], "no spread line"
lo, hi, med = (float(x) for x in spread[0].groups())
# min and max round as the rows do; the median of the unrounded sols within a rounding step of the rows'
assert (lo, hi) == (min(sols), max(sols)) and abs(med - st.median(sols)) <= 0.0051, (spread[0].group(0), sols)
PY
    ok "sol-spread.sh: one row per run, sol = floor / median, the spread line from the rows"
else
    no "sol-spread.sh: its table (above)"
fi

# refusals: exit 2, one line on stderr naming the problem
refused() {
    local name=$1 want=$2
    shift 2
    scripts/sol-spread.sh "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -qF -- "$want" "$tmp/err"; then
        ok "sol-spread.sh refuses $name"
    else
        no "sol-spread.sh $name: exit $rc, stderr: $(cat "$tmp/err")"
    fi
}
refused "a run count that is not a number" "N must be a positive integer, not 'x'" "$dyvm" x
refused "no runs" "N must be a positive integer, not '0'" "$dyvm" 0
refused "a pause that is not a number" "PAUSE_S must be a number of seconds, not 'soon'" "$dyvm" 2 soon
refused "a missing binary" "$tmp/none is not an executable dyvm" "$tmp/none" 2
refused "four positional arguments" "usage:" "$dyvm" 2 0 extra
# a bench that fails: its own line, exit 1
scripts/sol-spread.sh "$dyvm" 1 0 -- --preset nope >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" = 1 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -qF 'run 1 failed: dyvm: unknown preset "nope"' "$tmp/err"; then
    ok "sol-spread.sh passes on dyvm's own error for a failed run"
else
    no "sol-spread.sh with a failing run: exit $rc, stderr: $(cat "$tmp/err")"
fi

# isa-emu-check.sh: the same ISA twice is identical (exit 0), two ISAs that round differently are not (exit 1)
# emu_pair NAME ISA OTHER RC REGEX: that exit status, and REGEX ending both lines (vim and block)
emu_pair() {
    local out rc
    out=$(scripts/isa-emu-check.sh "$dyvm" "$2" "$3" 2>&1)
    rc=$?
    if [ "$rc" = "$4" ] && [ "$(grep -c "$5\$" <<<"$out")" = 2 ]; then ok "isa-emu-check.sh: $1"; else
        no "isa-emu-check.sh $2 $3: exit $rc: $out"; fi
}
emu_pair "avx2 twice, byte-identical (vim and block)" avx2 avx2 0 'give byte-identical captures'
emu_pair "avx2 against scalar, told apart (exit 1)" avx2 scalar 1 'differ (first at byte [0-9]* of the capture)'

# the check itself: AVX-512 against its emulation
scripts/isa-emu-check.sh "$dyvm" >"$tmp/out" 2>"$tmp/err"
rc=$?
if "$dyvm" info --isas | tr ' ' '\n' | grep -qx avx512; then
    if [ "$rc" = 0 ]; then ok "AVX-512 and its emulation on AVX2 give byte-identical captures"; else
        no "AVX-512 against its emulation (exit $rc): $(cat "$tmp/out" "$tmp/err")"; fi
elif [ "$rc" = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q 'does not support it (AVX-512' "$tmp/err"; then
    echo "SKIP AVX-512 against its emulation: this CPU has no AVX-512 (isa-emu-check.sh says so, exit 2)"
    skip=$((skip + 1))
else
    no "isa-emu-check.sh without AVX-512: exit $rc, stderr: $(cat "$tmp/err")"
fi

if [ "$skip" != 0 ]; then echo "$pass passed, $fail failed, $skip skipped"; else echo "$pass passed, $fail failed"; fi
[ "$fail" = 0 ]
