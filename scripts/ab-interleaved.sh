#!/usr/bin/env bash
# Two dyvm binaries (two commits, two builds) timed interleaved on this machine: N passes, each running every
# configuration once with A then B (dyvm bench --rounds 1 --no-peaks, its median), then the ratio of the
# medians A/B with a 95 % bootstrap interval (2000 replicates, seed 0).
#   scripts/ab-interleaved.sh OLD/build/dyvm build/dyvm [N=6] [preset:variant ...]   (default vim-s and vim-t, vim and dyvm)
set -eu
[ $# -ge 2 ] || { echo "usage: $0 DYVM_A DYVM_B [passes] [preset:variant ...]" >&2; exit 2; }
A=$1 B=$2 N=${3:-6}
shift $(($# < 3 ? $# : 3))
cases=${*:-vim-s:vim vim-s:dyvm vim-t:vim vim-t:dyvm}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for i in $(seq 1 "$N"); do
  for c in $cases; do
    for side in A B; do
      bin=$A; [ "$side" = B ] && bin=$B
      ms=$("$bin" bench --preset "${c%%:*}" --variant "${c##*:}" --batch 1 --rounds 1 --no-peaks --min-time 1 \
             --max-time 2 --format json 2>/dev/null |
           python3 -c "import json, sys; print(json.load(sys.stdin)['results'][0]['median_ms'])")
      echo "$c $side $ms" >>"$out"
    done
  done
done
python3 - "$out" "$A" "$B" <<'PY'
import random, statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
cases = []
for c, _, _ in rows:
    if c not in cases: cases.append(c)
random.seed(0)
print("A = %s, B = %s; ratio = median A / median B (above 1: B faster)" % (sys.argv[2], sys.argv[3]))
for c in cases:
    a = [float(m) for k, s, m in rows if k == c and s == "A"]
    b = [float(m) for k, s, m in rows if k == c and s == "B"]
    reps = sorted(st.median(random.choices(a, k=len(a))) / st.median(random.choices(b, k=len(b))) for _ in range(2000))
    lo, hi = reps[49], reps[1949]
    mark = "~ " if lo <= 1 <= hi else ""
    print("%-12s A %.1f ms, B %.1f ms (%d passes): %s%.2fx [%.2f, %.2f]" % (c, st.median(a), st.median(b), len(a), mark,
          st.median(a) / st.median(b), lo, hi))
PY
