#!/usr/bin/env bash
# `dyvm compare`: the small reports of tests/data/compare (samples drawn once with python's random, seed 20261129,
# 1 % noise; run2 is run1 with vim-t/vim 10 % slower; the other common configurations unchanged; run2/batch.json
# holds a CPU and a GPU row of one configuration; batch.json has no round_samples, as older reports), the three
# formats, folder input, the committed report against itself, and every bad input:
# exit 2 and exactly one line "dyvm: ..." on stderr.
set -u
dyvm=${DYVM:-build/dyvm}
data=tests/data/compare
real=reports/2026-11-27-vm-cpu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
no() { echo "FAIL $1"; fail=$((fail + 1)); }
# runs dyvm compare, stdout to $tmp/out, stderr to $tmp/err; succeeds when it exits 0 with stderr empty
run_ok() { "$dyvm" compare "$@" >"$tmp/out" 2>"$tmp/err" && [ ! -s "$tmp/err" ]; }

# Markdown: the changed configuration with about +10 %, the unchanged ones with ~
if run_ok "$data/run1/paper.json" "$data/run2/paper.json"; then
    ok "compare two report files (md)"
    changed=$(grep -F '| paper | vim-t | vim | none | none |' "$tmp/out")
    same=$(grep -F '| paper | vim-t | dyvm | ratio:0.8 | learned |' "$tmp/out")
    pct=$(echo "$changed" | sed -nE 's/.*\| \+([0-9]+\.[0-9]) % \[\+[0-9.]+, \+[0-9.]+\] \|.*/\1/p')
    if [ -n "$pct" ] && awk -v p="$pct" 'BEGIN { exit !(p >= 8 && p <= 12) }'; then
        ok "md: vim-t/vim changed by +$pct % (want about +10)"
    else
        no "md: vim-t/vim row: $changed"
    fi
    if echo "$same" | grep -qF '| ~ |'; then ok "md: vim-t/dyvm is ~"; else no "md: vim-t/dyvm row: $same"; fi
    if grep -q 'seed 0' "$tmp/out" && grep -q '`~` means no measurable difference' "$tmp/out"; then
        ok "md header prints the seed and what ~ means"
    else
        no "md header lacks the seed or the meaning of ~"
    fi
    if grep -q 'commit aaaaaaa' "$tmp/out" && grep -q 'commit bbbbbbb' "$tmp/out" && grep -q 'host testhost' "$tmp/out"; then
        ok "md header names both sources (host, commit)"
    else
        no "md header lacks the sources"
    fi
    if grep -q '^Only in A: 1 configuration' "$tmp/out" && grep -q '^Only in B: 1 configuration' "$tmp/out"; then
        ok "md lists 1 configuration only in A and 1 only in B"
    else
        no "md only-in counts: $(grep '^Only' "$tmp/out" | tr '\n' ' ')"
    fi
else
    no "compare two report files: exit $?, $(cat "$tmp/err")"
fi

# CSV: a header and one line per common configuration (2 for the two paper files)
if run_ok "$data/run1/paper.json" "$data/run2/paper.json" --format csv && [ "$(wc -l <"$tmp/out")" = 3 ] &&
    head -1 "$tmp/out" | grep -q '^key,suite,model,variant,block_policy,token_policy,token_ratio,batch,'; then
    ok "csv: header + 2 rows"
else
    no "csv: $(head -c 300 "$tmp/out") $(cat "$tmp/err")"
fi

# JSON parses and has the right rows; folders: env.json skipped, the GPU row told apart by @backend
if run_ok "$data/run1" "$data/run2" --format json --seed 7 &&
    python3 -c 'import json,sys; json.load(sys.stdin)' <"$tmp/out"; then
    ok "json output of two folders parses"
    if python3 - "$tmp/out" <<'EOF'; then ok "json: schema, seed 7, 3 rows, only vim-t/vim significant, cpu rows matched by @cpu, 1 only in A, 2 only in B"; else no "json content"; fi
import json, sys
j = json.load(open(sys.argv[1]))
rows = {r["key"]: r for r in j["rows"]}
want = {"paper/vim-t/vim/none/none/1.0000/1", "paper/vim-t/dyvm/ratio:0.8/learned/0.9000/1",
        "batch/vim-s/vim/none/none/1.0000/8@cpu"}
fields = {"key", "suite", "model", "variant", "block_policy", "token_policy", "token_ratio", "batch", "median_a_ms",
          "median_b_ms", "ratio", "ratio_ci_low", "ratio_ci_high", "p_value", "n_a", "n_b", "significant"}
sig = {k for k, r in rows.items() if r["significant"]}
ok = (j["schema"] == "dyvm-compare/1" and j["seed"] == 7 and set(rows) == want and len(j["rows"]) == 3
      and all(fields <= set(r) for r in j["rows"]) and sig == {"paper/vim-t/vim/none/none/1.0000/1"}
      and 1.08 < rows["paper/vim-t/vim/none/none/1.0000/1"]["ratio"] < 1.12
      and j["a"]["reports"] == 2 and j["b"]["reports"] == 2
      and len(j["a"]["only_here"]) == 1 and len(j["b"]["only_here"]) == 2)
if not ok: print(json.dumps(j, indent=1)[:3000])
sys.exit(0 if ok else 1)
EOF
else
    no "json of two folders: $(head -c 300 "$tmp/out") $(cat "$tmp/err")"
fi

# the same seed gives the same output; the committed report against itself: every row ~ with ratio exactly 1
if run_ok "$data/run1" "$data/run2" --format json --seed 7 && cp "$tmp/out" "$tmp/first" &&
    run_ok "$data/run1" "$data/run2" --format json --seed 7 && cmp -s "$tmp/out" "$tmp/first"; then
    ok "json: seed 7 twice gives identical output"
else
    no "json: seed 7 twice differs"
fi
if run_ok "$real" "$real" --format json && python3 - "$tmp/out" <<'EOF'; then
import json, sys
j = json.load(open(sys.argv[1]))
rows = j["rows"]
bad = [r["key"] for r in rows if r["significant"] or r["ratio"] != 1.0]
print("%d rows of %s against itself, %d not ~ or ratio != 1" % (len(rows), j["a"]["path"], len(bad)))
sys.exit(0 if len(rows) >= 50 and not bad and not j["a"]["only_here"] else 1)
EOF
    ok "$real against itself: every row ~, ratio exactly 1"
else
    no "$real against itself: $(cat "$tmp/err")"
fi
if run_ok "$real" "$real" && ! grep -E '^\| (paper|blocks|keep|batch|breakdown) \|' "$tmp/out" | grep -vqF '| ~ |'; then
    ok "$real against itself (md): every row ~"
else
    no "$real against itself (md): a row is not ~"
fi
if run_ok --help && grep -q '^usage: dyvm compare' "$tmp/out"; then ok "compare --help prints the usage"; else no "compare --help"; fi

# bad inputs: exit 2, exactly one line starting "dyvm: " on stderr, never a crash
expect_fail() { # name, args...
    local name=$1
    shift
    "$dyvm" compare "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$? lines
    lines=$(wc -l <"$tmp/err")
    if [ "$rc" = 2 ] && [ "$lines" = 1 ] && grep -q '^dyvm: ' "$tmp/err"; then
        ok "$name: exit 2, $(cat "$tmp/err")"
    else
        no "$name: exit $rc, $lines stderr lines: $(head -c 300 "$tmp/err")"
    fi
}
# a report with one row whose fields are given by $1 (JSON members), for the odd-JSON cases
report() { printf '{"schema": "dyvm-bench/1", "suite": "paper", "environment": {}, "results": [{%s}]}' "$1"; }
cfg='"variant": "vim", "backend": "cpu", "block_policy": "none", "token_policy": "none", "token_ratio": 1'
good="\"model\": \"vim-t\", $cfg, \"batch\": 1"
A=$data/run1/paper.json
mkdir -p "$tmp/noreport" "$tmp/badjson"
cp "$data/run1/env.json" "$tmp/noreport/"
printf 'garbage{' >"$tmp/garbage.json"
printf '' >"$tmp/empty.json"
printf '{"schema": "dyvm-bench/1", "suite": "paper"} trailing' >"$tmp/trailing.json"
printf '[1, 2, 3]' >"$tmp/array.json"
printf '{"schema": "dyvm-bench/2", "results": []}' >"$tmp/schema2.json"
cp "$tmp/garbage.json" "$tmp/badjson/x.json"
report "$good" >"$tmp/nosamples.json"
report "$good, \"samples_ms\": []" >"$tmp/emptysamples.json"
report "$good, \"samples_ms\": [1, \"2\"]" >"$tmp/strsample.json"
report "$good, \"samples_ms\": 5" >"$tmp/numsamples.json"
report "$good, \"samples_ms\": [1, 2, 3], \"round_samples\": [1, 1]" >"$tmp/badrounds.json"
report "$good, \"samples_ms\": [1, 2, 3], \"round_samples\": [1.5, 1.5]" >"$tmp/fracrounds.json"
report "$good, \"samples_ms\": [1, 2, 3], \"round_samples\": {\"a\": 3}" >"$tmp/objrounds.json"
report "\"model\": 3, \"samples_ms\": [1]" >"$tmp/nummodel.json"
report "\"variant\": \"vim\", \"samples_ms\": [1]" >"$tmp/nomodel.json"
report "\"model\": \"vim-t\", $cfg, \"batch\": \"1\", \"samples_ms\": [1]" >"$tmp/strbatch.json"
report "\"model\": \"vim-t\", $cfg, \"batch\": 0.5, \"samples_ms\": [1]" >"$tmp/fracbatch.json"
printf '{"schema": "dyvm-bench/1", "suite": "paper", "results": [7]}' >"$tmp/numrow.json"
printf '{"schema": "dyvm-bench/1", "suite": "paper", "results": {"a": 1}}' >"$tmp/objresults.json"
printf '{"schema": "dyvm-bench/1", "suite": "paper"}' >"$tmp/noresults.json"
printf '{"schema": "dyvm-bench/1", "suite": 1, "results": []}' >"$tmp/numsuite.json"
report "\"model\": \"other\", $cfg, \"batch\": 1, \"samples_ms\": [1, 2]" >"$tmp/other.json"

expect_fail "no arguments"
expect_fail "one argument" "$A"
expect_fail "three arguments" "$A" "$A" "$A"
expect_fail "unknown flag" "$A" "$A" --frob
expect_fail "--format without value" "$A" "$A" --format
expect_fail "--format xml" "$A" "$A" --format xml
expect_fail "--seed -1" "$A" "$A" --seed -1
expect_fail "--seed not a number" "$A" "$A" --seed x
expect_fail "A does not exist" "$tmp/nope.json" "$A"
expect_fail "B does not exist" "$A" "$tmp/nope"
expect_fail "file not JSON" "$tmp/garbage.json" "$A"
expect_fail "empty file" "$A" "$tmp/empty.json"
expect_fail "JSON with trailing garbage" "$A" "$tmp/trailing.json"
expect_fail "env.json is not a report" "$data/run1/env.json" "$A"
expect_fail "JSON array is not a report" "$tmp/array.json" "$A"
expect_fail "another schema is not a report" "$tmp/schema2.json" "$A"
expect_fail "folder with no report" "$tmp/noreport" "$A"
expect_fail "folder with a .json that is not JSON" "$tmp/badjson" "$A"
expect_fail "row without samples_ms" "$tmp/nosamples.json" "$A"
expect_fail "empty samples_ms" "$A" "$tmp/emptysamples.json"
expect_fail "samples_ms holds a string" "$A" "$tmp/strsample.json"
expect_fail "samples_ms is a number" "$A" "$tmp/numsamples.json"
expect_fail "round_samples not adding up" "$A" "$tmp/badrounds.json"
expect_fail "round_samples fractional" "$A" "$tmp/fracrounds.json"
expect_fail "round_samples an object" "$A" "$tmp/objrounds.json"
expect_fail "model is a number" "$A" "$tmp/nummodel.json"
expect_fail "model missing" "$A" "$tmp/nomodel.json"
expect_fail "batch is a string" "$A" "$tmp/strbatch.json"
expect_fail "batch is fractional" "$A" "$tmp/fracbatch.json"
expect_fail "a row is a number" "$A" "$tmp/numrow.json"
expect_fail "results is an object" "$A" "$tmp/objresults.json"
expect_fail "results missing" "$A" "$tmp/noresults.json"
expect_fail "suite is a number" "$A" "$tmp/numsuite.json"
expect_fail "no configuration in common" "$A" "$tmp/other.json"
expect_fail "no configuration in common (different suites)" "$data/run1/batch.json" "$data/run2/paper.json"
if grep -q 'no configuration in common between A and B' "$tmp/err"; then ok "no configuration in common: says so"; else no "no configuration in common: $(cat "$tmp/err")"; fi
"$dyvm" compare "$tmp/schema2.json" "$A" 2>"$tmp/err" >/dev/null
if grep -qF "$tmp/schema2.json: not a dyvm-bench report" "$tmp/err"; then ok "not a report: names the file"; else no "not a report: $(cat "$tmp/err")"; fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
