#!/usr/bin/env bash
# dyvm bench --shard and dyvm merge without a cluster: the quick paper suite (Vim-T, 4 configurations) in 3
# shards, merged, against one unsharded run: the same configurations and columns in every table, every row
# timed exactly once, and the shard flags and merges that must be refused, each with its one line and exit 2;
# then the quick sol suite in 2 shards, whose rows keep their own shard's floors under the later roofs.
# Usage: DYVM=build/dyvm tests/test_shard.sh (from the repository root: the plots' scripts are found there).
set -u
dyvm=$(realpath -m "${DYVM:-build/dyvm}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { if [ "$1" = 0 ]; then echo "PASS $2"; pass=$((pass + 1)); else echo "FAIL $2"; fail=$((fail + 1)); fi; }
# refused NAME 'expected stderr line' -- args: exit 2 and exactly that one line
refused() {
    local name=$1 want=$2
    shift 3
    local err rc
    err=$("$dyvm" "$@" 2>&1 >/dev/null)
    rc=$?
    [ "$rc" = 2 ] && [ "$err" = "$want" ]
    ok $? "$name (exit $rc: $err)"
}
quick=(--quick --no-peaks --min-time 0.02 --max-time 0.1)

for i in 1 2 3; do
    "$dyvm" bench --suite paper "${quick[@]}" --shard "$i/3" --out "$tmp/run" >/dev/null 2>"$tmp/shard$i.log"
    ok $? "shard $i/3 of the quick paper suite runs"
done
"$dyvm" merge "$tmp"/run/shard-* --out "$tmp/merged" >/dev/null 2>"$tmp/merge.log"
ok $? "the 3 shards merge ($(tail -1 "$tmp/merge.log"))"
"$dyvm" bench --suite paper "${quick[@]}" --out "$tmp/whole" >/dev/null 2>&1
ok $? "the same suite unsharded"
whole=$(ls -d "$tmp"/whole/*/ | head -1)
py=$(python3 "$(dirname "$0")/same_report.py" "$tmp/merged" "$whole"; python3 - "$tmp/run" "$tmp/merged" "$whole" <<'EOF'
import json, os, sys
run, merged, whole = sys.argv[1:]
m = json.load(open(f"{merged}/paper.json"))
def say(ok, what):
    print(("PASS " if ok else "FAIL ") + what)
say(all(r["speedup"] is not None and r["samples"] >= 2 for r in m["results"] if r["variant"] != "vim"),
    "merged: every speed-up against dense computed from the shards' samples")
timed = []
for d in sorted(os.listdir(run)):
    timed += [(x["suite"], x["call"], x["index"]) for x in json.load(open(f"{run}/{d}/shard.json"))["rows"]]
say(sorted(timed) == [("paper", 0, i) for i in range(4)], f"every configuration timed by exactly one shard ({timed})")
say(sorted(os.listdir(merged)) == sorted(set(os.listdir(whole)) | {"shards.json"}),
    f"merged: the unsharded report's files, and shards.json ({sorted(os.listdir(merged))})")
say("## Shards" in open(f"{merged}/README.md").read() and all("host" in r for r in m["results"]),
    "merged: the README lists the shards, every row names its host")
EOF
)
printf '%s\n' "$py"
pass=$((pass + $(printf '%s\n' "$py" | grep -c '^PASS'))) fail=$((fail + $(printf '%s\n' "$py" | grep -c '^FAIL')))
[ -n "$py" ] || ok 1 "the report checks ran (python3)"

# shards and merges that are refused
s1=$tmp/run/shard-1-of-3 s2=$tmp/run/shard-2-of-3 s3=$tmp/run/shard-3-of-3
refused "merge: a shard twice" "dyvm: merge: shard 2/3 given twice: $s2/shard.json and $s2/shard.json" -- merge "$s1" "$s2" "$s2" "$s3" --out "$tmp/m1"
refused "merge: a shard missing" "dyvm: merge: missing shard 3/3 of the 3" -- merge "$s1" "$s2" --out "$tmp/m2"
refused "merge: --out exists" "dyvm: merge: --out $tmp/merged exists (a merge writes a new report folder)" -- merge "$s1" "$s2" "$s3" --out "$tmp/merged"
refused "merge: no --out" "dyvm: merge: --out REPORT is required (the report folder to write)" -- merge "$s1"
refused "merge: no shard" "dyvm: merge: no shard given (usage: dyvm merge DIR... --out REPORT [--allow-mixed])" -- merge --out "$tmp/m3"
refused "merge: not a shard" "dyvm: merge: $tmp/nothing: cannot read it (No such file or directory)" -- merge "$tmp/nothing" --out "$tmp/m4"
# a shard edited to look like another commit, schema, suite or machine
edit() { # SRC DST python-expression-on-j
    mkdir -p "$2" && python3 -c "import json,sys; j=json.load(open('$1/shard.json')); $3; json.dump(j, open('$2/shard.json','w'))"
}
edit "$s3" "$tmp/commit" "j['commit'] = 'abc1234'"
refused "merge: another commit" "dyvm: merge: $s1/shard.json and $tmp/commit/shard.json come from different commits ($(python3 -c "import json; print(json.load(open('$s1/shard.json'))['commit'])"), abc1234)" -- merge "$s1" "$s2" "$tmp/commit" --out "$tmp/m5"
edit "$s3" "$tmp/schema" "j['schema'] = 'dyvm-shard/2'"
refused "merge: another schema" "dyvm: merge: $tmp/schema/shard.json: schema dyvm-shard/2, not dyvm-shard/1" -- merge "$s1" "$s2" "$tmp/schema" --out "$tmp/m6"
edit "$s3" "$tmp/suite" "h = j['run_hex']; j['run_hex'] = 'keep'.encode().hex() + h[8:]"
refused "merge: another suite" "dyvm: merge: $s1/shard.json and $tmp/suite/shard.json are shards of different runs: suite differs" -- merge "$s1" "$s2" "$tmp/suite" --out "$tmp/m7"
edit "$s3" "$tmp/machine" "j['machine'] = 'Intel Xeon, 64 cores, avx512, OpenBLAS SkylakeX'"
machine=$(python3 -c "import json; print(json.load(open('$s1/shard.json'))['machine'])")
host=$(python3 -c "import json; print(json.load(open('$s1/shard.json'))['host'])")
refused "merge: another machine" "dyvm: merge: the shards ran on different machines ($host: $machine; $host: Intel Xeon, 64 cores, avx512, OpenBLAS SkylakeX): give --allow-mixed to merge them anyway (every row names its host)" -- merge "$s1" "$s2" "$tmp/machine" --out "$tmp/m8"
"$dyvm" merge "$s1" "$s2" "$tmp/machine" --out "$tmp/m9" --allow-mixed >/dev/null 2>&1
ok $? "merge: another machine with --allow-mixed merges"
refused "bench: --shard 0/3" 'dyvm: --shard: "0/3" is not i/n with 1 <= i <= n <= 256' -- bench --suite paper --shard 0/3
refused "bench: --shard 4/3" 'dyvm: --shard: "4/3" is not i/n with 1 <= i <= n <= 256' -- bench --suite paper --shard 4/3
refused "bench: --shard x" 'dyvm: --shard: "x" is not i/n with 1 <= i <= n <= 256' -- bench --suite paper --shard x
refused "bench: --shard without --suite" "dyvm: bench: --shard applies to --suite only" -- bench --preset tiny --shard 1/2

# the sol suite in 2 shards, with roofs: a row's floor under the roofs measured again before the suite is the
# one its own shard computed (JSON and the README's table), not shard 1's roofs put under every row
solq=(--quick --rounds 1 --min-time 0.02 --max-time 0.1)
for i in 1 2; do
    "$dyvm" bench --suite sol "${solq[@]}" --shard "$i/2" --out "$tmp/solrun" >/dev/null 2>"$tmp/sol$i.log"
    ok $? "shard $i/2 of the quick sol suite runs, with its roofs"
done
"$dyvm" merge "$tmp"/solrun/shard-* --out "$tmp/solmerged" >/dev/null 2>"$tmp/solmerge.log"
ok $? "the 2 sol shards merge ($(tail -1 "$tmp/solmerge.log"))"
py=$(python3 - "$tmp/solrun" "$tmp/solmerged" <<'EOF'
import json, os, sys
run, merged = sys.argv[1:]
key = lambda r: (r["model"], r["variant"], r["batch"])
own = {}
for d in sorted(os.listdir(run)):
    for x in json.load(open(f"{run}/{d}/shard.json"))["rows"]:
        own[key(x["summary"])] = (d, x["summary"]["floor_end_ms"])
res = json.load(open(f"{merged}/sol.json"))["results"]
shards = {d for d, _ in own.values()}
ok = len(res) == 8 and len(shards) == 2 and all(isinstance(v, float) and v > 0 for _, v in own.values())
ok = ok and all(r["floor_end_ms"] == own[key(r)][1] for r in res)
print(("PASS " if ok else "FAIL ") + "merged sol.json: every row's floor_end_ms is its own shard's (%d rows, shards %s)"
      % (len(res), sorted(shards)))
lines = open(f"{merged}/README.md").read().split("measured again just before this suite", 1)[-1].splitlines()
table = [l.strip("|").split("|") for l in lines if l.startswith("| vim-t |")][:8]
want = {(c[0].strip(), c[1].strip(), int(c[2])): float(c[6]) for c in table}
ok = len(want) == 8 and all(abs(v - round(own[k][1], 2)) < 1e-9 for k, v in want.items())
print(("PASS " if ok else "FAIL ") + "merged README: the floors under the roofs before the suite are each shard's own")
EOF
)
printf '%s\n' "$py"
pass=$((pass + $(printf '%s\n' "$py" | grep -c '^PASS'))) fail=$((fail + $(printf '%s\n' "$py" | grep -c '^FAIL')))
[ -n "$py" ] || ok 1 "the sol merge checks ran (python3)"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
