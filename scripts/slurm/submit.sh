#!/usr/bin/env bash
# Submits a sharded dyvm-bench suite to Slurm: the job array (scripts/slurm/bench-array.sbatch, one task
# per shard) and the dependent merge job. Run from the repository root on a filesystem the nodes share.
#
#   scripts/slurm/submit.sh --suite S --shards N --out DIR [--partition P] [--gpus-per-task G]
#                           [--cpus-per-task C] [--time T] [--allow-mixed] [-- dyvm bench flags]
#
# Prints the two job ids and where the report will be (DIR/report); the task logs go to DIR/logs.
set -eu
suite=all shards= out= sb=() task=() mixed=()
usage() { echo "usage: scripts/slurm/submit.sh --suite S --shards N --out DIR [--partition P] [--gpus-per-task G] [--cpus-per-task C] [--time T] [--allow-mixed] [-- dyvm bench flags]" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
    --suite) suite=${2:?}; shift 2 ;;
    --shards) shards=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --partition | --time) sb+=("$1=${2:?}"); shift 2 ;;         # both jobs
    --gpus-per-task | --cpus-per-task) task+=("$1=${2:?}"); shift 2 ;; # the shards only
    --allow-mixed) mixed=(--allow-mixed); shift ;;
    --) shift; break ;;
    *) echo "submit.sh: unknown option $1" >&2; usage ;;
    esac
done
case $shards in '' | *[!0-9]* | 0) echo "submit.sh: --shards N (a positive integer) is required" >&2; usage ;; esac
[ -n "$out" ] || { echo "submit.sh: --out DIR (on a shared filesystem) is required" >&2; usage; }
command -v sbatch >/dev/null || { echo "submit.sh: sbatch not found: no Slurm here" >&2; exit 2; }
mkdir -p "$out/logs"
here=$(dirname "$0")
array=$(sbatch --parsable --array="1-$shards" ${sb[@]+"${sb[@]}"} ${task[@]+"${task[@]}"} --output="$out/logs/shard-%a.out" \
    "$here/bench-array.sbatch" "$suite" "$shards" "$out" -- "$@")
array=${array%%;*}
merge=$(sbatch --parsable --dependency="afterok:$array" ${sb[@]+"${sb[@]}"} --output="$out/logs/merge.out" \
    "$here/bench-array.sbatch" --merge "$out" ${mixed[@]+"${mixed[@]}"})
merge=${merge%%;*}
echo "dyvm-bench: job array $array ($shards shards of suite $suite), merge job $merge; the report: $out/report"
