#!/usr/bin/env bash
# The `dyvm run` contract (SPEC.md section 7): success writes the listed tensors; every bad flag, file or
# shape gives exit status != 0 and exactly one line on stderr, never a crash.
set -u
dyvm=${DYVM:-build/dyvm}
golden=${GOLDEN:-../shared/golden}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
no() { echo "FAIL $1"; fail=$((fail + 1)); }

W=$golden/tiny/weights.safetensors
X=$golden/tiny/input.safetensors
for v in vim token block dyvm; do
    if "$dyvm" run --weights "$W" --input "$X" --variant $v --out "$tmp/$v.st" >"$tmp/out" 2>"$tmp/err" &&
        [ ! -s "$tmp/err" ] && [ -s "$tmp/$v.st" ]; then
        ok "run --variant $v writes $tmp/$v.st"
    else
        no "run --variant $v: $(cat "$tmp/err")"
    fi
done
# the output holds the contract's tensors with their shapes
hdr() { head -c 100000 "$1" | tail -c +9; }
for want in '"logits":{"dtype":"F32","shape":[3,10]' '"features":{"dtype":"F32","shape":[3,32]' \
    '"block_policy":{"dtype":"F32","shape":[3,4,2]' '"kept.0":{"dtype":"I32","shape":[3,11]' '"kept.2":{"dtype":"I32","shape":[3,5]'; do
    if hdr "$tmp/dyvm.st" | tr -d ' ' | grep -qF "$want"; then ok "dyvm output has $want"; else no "dyvm output lacks $want"; fi
done
if "$dyvm" run --preset vim-t --variant dyvm --batch 1 --seed 3 >"$tmp/out" 2>"$tmp/err" && grep -q "weights seed 1" "$tmp/out" &&
    grep -q "input seed 3" "$tmp/out"; then
    ok "run --preset vim-t without --weights prints its seeds"
else
    no "run --preset vim-t: $(cat "$tmp/err")"
fi

# bad inputs: one line on stderr, non-zero exit, no crash
printf 'garbage' >"$tmp/garbage.st"
printf '\020\000\000\000\000\000\000\000{"a":1}' >"$tmp/short.st"
"$dyvm" init --preset vim-t --out "$tmp/vimt.st" >/dev/null 2>&1
expect_fail() { # name, args...
    local name=$1
    shift
    "$dyvm" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$? lines
    lines=$(wc -l <"$tmp/err")
    if [ "$rc" != 0 ] && [ "$rc" -lt 128 ] && [ "$lines" = 1 ]; then
        ok "$name: exit $rc, $(cat "$tmp/err")"
    else
        no "$name: exit $rc, $lines stderr lines: $(head -c 300 "$tmp/err")"
    fi
}
expect_fail "no command"
expect_fail "unknown command" frobnicate
expect_fail "unknown flag" run --weights "$W" --input "$X" --variant vim --frob 1
expect_fail "missing variant" run --weights "$W" --input "$X"
expect_fail "bad variant" run --weights "$W" --input "$X" --variant vit
expect_fail "flag without value" run --weights "$W" --input "$X" --variant
expect_fail "missing weights file" run --weights "$tmp/nope.st" --input "$X" --variant vim
expect_fail "weights not safetensors" run --weights "$tmp/garbage.st" --input "$X" --variant vim
expect_fail "weights header past the end" run --weights "$tmp/short.st" --input "$X" --variant vim
expect_fail "input of the wrong shape" run --weights "$W" --input "$golden/small/input.safetensors" --variant vim
expect_fail "input without images" run --weights "$W" --input "$golden/tiny/vim.safetensors" --variant vim
expect_fail "weights as input" run --weights "$W" --input "$W" --variant vim
expect_fail "bad block policy" run --weights "$W" --input "$X" --variant block --block-policy ratio:2
expect_fail "bad block policy kind" run --weights "$W" --input "$X" --variant block --block-policy some
expect_fail "count past 2*depth" run --weights "$W" --input "$X" --variant block --block-policy count:9
expect_fail "bad token policy" run --weights "$W" --input "$X" --variant token --token-policy random
expect_fail "token ratio 0" run --weights "$W" --input "$X" --variant token --token-ratio 0
expect_fail "token ratio keeps nothing" run --weights "$W" --input "$X" --variant token --token-ratio 0.1
expect_fail "negative batch" run --preset vim-t --variant vim --batch -1
expect_fail "batch not a number" run --preset vim-t --variant vim --batch 2x
expect_fail "unknown preset" run --preset vim-x --variant vim
expect_fail "weights and preset" run --preset vim-t --weights "$W" --variant vim
expect_fail "input and batch" run --weights "$W" --input "$X" --batch 2 --variant vim
expect_fail "unknown backend" run --weights "$W" --input "$X" --variant vim --backend tpu
expect_fail "output in a missing folder" run --weights "$W" --input "$X" --variant vim --out "$tmp/no/such/dir/o.st"
expect_fail "init without out" init --preset vim-t

if "$dyvm" run --help | grep -q -- "--block-policy" && "$dyvm" --help | grep -q "run"; then ok "--help prints usage"; else no "--help"; fi

# dyvm flops
if "$dyvm" flops --preset vim-s --format json >"$tmp/f.json" 2>"$tmp/err" && grep -q '"total":[[:space:]]*5076593664' "$tmp/f.json" &&
    grep -q '"stages"' "$tmp/f.json"; then
    ok "flops --preset vim-s --format json: total 5076593664 and stages"
else
    no "flops json: $(head -c 300 "$tmp/f.json") $(cat "$tmp/err")"
fi
if "$dyvm" flops --preset vim-s --variant dyvm --block-policy ratio:0.8 --format csv | grep -q '^vim-s,dyvm,paper,total,3239385331.2,'; then
    ok "flops --format csv: DyVM-Vim-S total 3239385331.2"
else
    no "flops csv"
fi
if "$dyvm" flops --table paper >"$tmp/t.md" && grep -q "0.895" "$tmp/t.md" && grep -q "one of the two SSM directions" "$tmp/t.md" &&
    [ "$(grep -c '^| vim-' "$tmp/t.md")" = 12 ]; then
    ok "flops --table paper: 12 rows, the implied block ratio 0.895, the one-direction caveat"
else
    no "flops --table paper: $(head -c 300 "$tmp/t.md")"
fi
expect_fail "flops bad convention" flops --preset vim-t --convention half
expect_fail "flops bad format" flops --preset vim-t --format xml
expect_fail "flops bad table" flops --table other
expect_fail "flops without a model" flops --variant vim
expect_fail "flops learned block policy without a target" flops --weights "$W" --variant block
# keep:R: the paper's configuration exactly (38 of 48 branches); a timed run realizes the FLOPs dyvm flops counts
"$dyvm" flops --preset vim-t --variant dyvm --block-policy keep:0.8 --format json >"$tmp/k.json" 2>"$tmp/err"
"$dyvm" bench --preset vim-t --variant dyvm --block-policy keep:0.8 --rounds 2 --min-samples 1 --min-time 0 \
    --max-time 0 --no-peaks --format json >"$tmp/b.json" 2>"$tmp/err2"
if python3 - "$tmp/k.json" "$tmp/b.json" <<'PY'; then
import json, sys
f = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))["results"][0]
assert abs(f["block_ratio"] - 38 / 48) < 1e-12, f["block_ratio"]
assert b["flops_paper"] == f["total_paper"] and b["flops_full"] == f["total_full"], (b["flops_paper"], f["total_paper"])
assert b["block_keep_ratio"] == f["block_ratio"] and b["rounds"] == 2 and len(b["round_medians_ms"]) == 2
assert sum(b["round_samples"]) == b["samples"] == len(b["samples_ms"]) and b["floor_ms"] is None
PY
    ok "keep:0.8 runs 38 of 48 branches: bench's flops_paper and flops_full == dyvm flops's, 2 rounds kept"
else
    no "keep:0.8 flops vs bench: $(cat "$tmp/err" "$tmp/err2")"
fi
expect_fail "block policy keep out of range" flops --preset vim-t --variant block --block-policy keep:1.5
expect_fail "bench --rounds 0" bench --preset tiny --rounds 0
# a second report of the same day, host and backend keeps the first (-2), and the index lists both; the
# threads suite (1 thread against all) says why it skips with one thread
fast=(--quick --no-peaks --rounds 1 --min-samples 1 --min-time 0 --max-time 0.2)
if "$dyvm" bench --suite threads "${fast[@]}" --threads 1 --out "$tmp/rep" >/dev/null 2>"$tmp/err" &&
    "$dyvm" bench --suite threads "${fast[@]}" --threads 1 --out "$tmp/rep" >/dev/null 2>>"$tmp/err" &&
    d1=$(ls -d "$tmp"/rep/*-cpu-quick) && [ -f "$d1/README.md" ] && [ -f "$d1-2/README.md" ] &&
    grep -q "this run has one thread" "$d1-2/README.md" && [ "$(grep -c 'cpu-quick' "$tmp/rep/index.md")" = 2 ]; then
    ok "a second bench --suite of the same day goes to <name>-2, the first kept, both in the index"
else
    no "second report: $(cat "$tmp/err"; ls "$tmp/rep")"
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
