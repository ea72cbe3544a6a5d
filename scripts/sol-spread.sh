#!/usr/bin/env bash
# How far one configuration's floor and sol move on this machine when nothing changes: N runs of one dyvm
# binary, each a `dyvm bench` that measures its own roofs and then times the configuration (one round), with a
# pause between runs. Prints a Markdown table, one row per run, and the spread. On a shared VM the spread is the
# smallest difference in sol between two reports that the machine can show at all.
#   scripts/sol-spread.sh [DYVM=build/dyvm] [N=10] [PAUSE_S=5] [-- dyvm bench arguments]
#   (default arguments: --preset vim-t --variant vim --batch 1)
set -eu
pos=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do pos+=("$1"); shift; done
[ $# -gt 0 ] && shift # the --
[ ${#pos[@]} -le 3 ] || { echo "usage: $0 [DYVM] [N] [PAUSE_S] [-- dyvm bench arguments]" >&2; exit 2; }
bin=${pos[0]:-build/dyvm} n=${pos[1]:-10} pause=${pos[2]:-5}
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--preset vim-t --variant vim --batch 1)
case $n in '' | *[!0-9]* | 0) echo "$0: N must be a positive integer, not '$n'" >&2; exit 2 ;; esac
case $pause in '' | *[!0-9.]*) echo "$0: PAUSE_S must be a number of seconds, not '$pause'" >&2; exit 2 ;; esac
[ -x "$bin" ] || { echo "$0: $bin is not an executable dyvm (make first)" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for i in $(seq 1 "$n"); do
  [ "$i" -gt 1 ] && sleep "$pause"
  if ! "$bin" bench "${args[@]}" --rounds 1 --min-time 1 --max-time 1.5 --format json >"$out/$i.json" 2>"$out/err"; then
    echo "$0: run $i failed: $(tail -n 1 "$out/err")" >&2
    exit 1
  fi
done
python3 - "$out" "$n" "${args[*]}" <<'PY'
import json, statistics as st, sys
folder, n, args = sys.argv[1], int(sys.argv[2]), sys.argv[3]
runs = [json.load(open("%s/%d.json" % (folder, i))) for i in range(1, n + 1)]
env = runs[0]["environment"]
if not env["peaks"].get("measured"):
    sys.exit("sol-spread.sh: the runs measured no roofs (--no-peaks?): no floor, no sol")
print("`dyvm bench %s`, %d runs of one round each, every run measuring its own roofs first; commit %s, %s, "
      "%s (%d cores), %d threads, ISA %s; first run %s.\n" % (args, n, env["commit"], env["host"], env["cpu"],
      env["cores"], env["threads"], env.get("isa", "-"), env["date"]))
print("| run | sgemm GFLOP/s | FMA GFLOP/s | exp 1e9/s | memory GB/s | cache GB/s | floor ms | median ms | min ms | sol |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
sols, floors, medians = [], [], []
for i, d in enumerate(runs, 1):
    p, r = d["environment"]["peaks"], d["results"][0]
    sols.append(r["sol"]), floors.append(r["floor_ms"]), medians.append(r["median_ms"])
    print("| %d | %.0f | %.0f | %.2f | %.1f | %.0f | %.3g | %.3g | %.3g | %.2f |" % (i, p["sgemm_gflops"],
          p["fma_gflops"], p["exp_per_s"] / 1e9, p["bandwidth_gbs"], p.get("cache_gbs", 0), r["floor_ms"],
          r["median_ms"], r["min_ms"], r["sol"]))
print("\nsol %.2f–%.2f (median %.2f); floor %.3g–%.3g ms (%.2f×); median %.3g–%.3g ms (%.2f×)." % (min(sols),
      max(sols), st.median(sols), min(floors), max(floors), max(floors) / min(floors), min(medians), max(medians),
      max(medians) / min(medians)))
PY
