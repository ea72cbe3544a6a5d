#!/usr/bin/env bash
# scripts/sol-spread.sh: its table (one row per run; each row's sol is its floor over its median, as dyvm
# computed them; the spread line matches the rows) and its refusals (one line on stderr, exit 2).
# Usage: DYVM=build/dyvm tests/test_sol_spread.sh (from the repository root; python3 is needed).
set -u
dyvm=${DYVM:-build/dyvm}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
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
    # the columns are rounded to 3 significant digits: their ratio within that of sol's 2 decimals
    assert abs(floor / median - sol) <= 0.005 + 0.006 * sol, row
    sols.append(sol)
spread = [l for l in lines if l.startswith("sol ")]
assert len(spread) == 1, "no spread line"
want = "sol %.2f–%.2f (median %.2f);" % (min(sols), max(sols), st.median(sols))
assert spread[0].startswith(want), (spread[0], want)
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

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
