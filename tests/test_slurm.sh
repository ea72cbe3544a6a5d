#!/usr/bin/env bash
# A real Slurm: a one-node cluster on this machine (slurmctld and slurmd on this host, a config in a temporary
# folder, auth/none, ports of its own), the quick paper suite submitted as 4 shards with
# scripts/slurm/submit.sh (the job array and the dependent merge job), waited for with a bound, and the merged
# report checked against one unsharded run's (the same configurations, the same columns); every daemon it
# started is stopped. Debian's slurm-wlm (and munge) are installed when missing and this runs as root; where
# the daemons cannot be had or started, it says SKIPPED with the reason, never passes silently.
# Usage: DYVM=build/dyvm tests/test_slurm.sh (from the repository root).
set -u
dyvm=$(realpath -m "${DYVM:-build/dyvm}")
pass=0 fail=0 skip=0
ok() { if [ "$1" = 0 ]; then echo "PASS $2"; pass=$((pass + 1)); else echo "FAIL $2"; fail=$((fail + 1)); fi; }
summary() {
    if [ "$skip" != 0 ]; then echo "$pass passed, $fail failed, $skip skipped"; else echo "$pass passed, $fail failed"; fi
    [ "$fail" = 0 ]
    exit
}
skipped() { echo "SKIP a sharded suite through a local Slurm: $1"; skip=$((skip + 1)); summary; }

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null; then
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || skipped "slurm-wlm is not installed and this is not root with apt-get"
    echo "# installing Debian's slurm-wlm and munge"
    if ! DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends slurm-wlm munge >/tmp/dyvm-slurm-apt.log 2>&1; then
        DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -qq >/dev/null 2>&1
        DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends slurm-wlm munge >/tmp/dyvm-slurm-apt.log 2>&1 ||
            skipped "apt-get install slurm-wlm munge failed: $(tail -1 /tmp/dyvm-slurm-apt.log)"
    fi
fi
[ "$(id -u)" = 0 ] || skipped "slurmd needs root to run jobs as their user"

T=$(mktemp -d /tmp/dyvm-slurm.XXXXXX)
chmod 755 "$T"
host=$(hostname -s)
port=$((20000 + $$ % 20000))
export SLURM_CONF=$T/slurm.conf
stop() {
    scontrol shutdown >/dev/null 2>&1
    for f in "$T/slurmctld.pid" "$T/slurmd.pid"; do
        [ -s "$f" ] || continue
        pid=$(cat "$f")
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -9 "$pid" 2>/dev/null
    done
    pkill -f "slurmstepd.*$T" 2>/dev/null
    rm -rf "$T"
}
trap stop EXIT
mkdir -p "$T/state" "$T/spool"
cat >"$SLURM_CONF" <<EOF
ClusterName=dyvmtest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
SlurmctldPort=$port
SlurmdPort=$((port + 1))
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=dyvm Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -c >"$T/start.log" 2>&1 || skipped "slurmctld did not start: $(tail -1 "$T/start.log")"
slurmd -c >>"$T/start.log" 2>&1 || skipped "slurmd did not start: $(tail -1 "$T/start.log")"
up=
for _ in $(seq 1 60); do
    [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && up=1 && break
    sleep 0.5
done
[ -n "$up" ] || skipped "the node never became idle: $(sinfo -h 2>&1 | head -1); $(tail -1 "$T/slurmctld.log" 2>/dev/null)"
ok 0 "a one-node cluster on $host (slurmctld and slurmd, ports $port and $((port + 1)))"

out=$T/run
scripts/slurm/submit.sh --suite paper --shards 4 --out "$out" --cpus-per-task 1 -- --quick --no-peaks \
    --min-time 0.02 --max-time 0.1 >"$T/submit.log" 2>&1
ok $? "submit.sh: the job array and the dependent merge job ($(tail -1 "$T/submit.log"))"
done_=
for _ in $(seq 1 300); do # at most 5 minutes
    [ -z "$(squeue -h 2>/dev/null)" ] && done_=1 && break
    sleep 1
done
ok $([ -n "$done_" ]; echo $?) "every job finished within 5 minutes"
[ -n "$done_" ] || squeue
for i in 1 2 3 4; do
    [ -s "$out/shard-$i-of-4/shard.json" ]
    ok $? "shard $i/4 wrote its rows"
done
[ -s "$out/report/paper.json" ] && [ -s "$out/report/README.md" ]
ok $? "the merge job wrote the report ($(tail -1 "$out/logs/merge.out" 2>/dev/null))"
"$dyvm" bench --suite paper --quick --no-peaks --min-time 0.02 --max-time 0.1 --threads 1 --out "$T/whole" >/dev/null 2>&1
ok $? "the same suite unsharded (one thread, as the shards' --cpus-per-task 1)"
py=$(python3 "$(dirname "$0")/same_report.py" "$out/report" "$(ls -d "$T"/whole/*/ | head -1)")
printf '%s\n' "$py"
pass=$((pass + $(printf '%s\n' "$py" | grep -c '^PASS'))) fail=$((fail + $(printf '%s\n' "$py" | grep -c '^FAIL')))
[ -n "$py" ] || ok 1 "the report checks ran (python3)"
summary
