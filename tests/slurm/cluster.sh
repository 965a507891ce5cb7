#!/usr/bin/env bash
# A throwaway single-node SLURM cluster on this machine, for tests/test_slurm.py.
#
#   tests/slurm/cluster.sh install      apt-get install slurm-wlm munge (Debian; root)
#   tests/slurm/cluster.sh up DIR       munged, slurmctld and slurmd on localhost; state, logs and
#                                       slurm.conf under DIR (linked from /etc/slurm/slurm.conf where
#                                       that is free); prints `export SLURM_CONF=DIR/slurm.conf`
#   tests/slurm/cluster.sh down DIR     stops all three and checks that none is left running
#
# One node with this machine's cores and memory, partition `debug`, no accounting database: job states
# come from squeue (`--slurm-status-command squeue`), which keeps finished jobs for MinJobAge seconds.
set -euo pipefail

cmd=${1:?usage: cluster.sh install|up DIR|down DIR}

case "$cmd" in
install)
    if command -v slurmctld >/dev/null && command -v munged >/dev/null; then exit 0; fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q slurm-wlm munge >/dev/null
    ;;
up)
    dir=$(realpath -m "${2:?usage: cluster.sh up DIR}")
    mkdir -p "$dir/state" "$dir/spool" "$dir/log"
    cpus=$(nproc)
    mem=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024))
    cat >"$dir/slurm.conf" <<EOF
ClusterName=sdobench
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=600
ReturnToService=2
MpiDefault=none
NodeName=localhost CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
    # srun inside a job (Snakemake's jobstep executor) reads the default path, not SLURM_CONF
    mkdir -p /etc/slurm
    if [ ! -e /etc/slurm/slurm.conf ]; then
        ln -s "$dir/slurm.conf" /etc/slurm/slurm.conf
        touch "$dir/linked-etc-slurm-conf"
    fi
    if ! pgrep -x munged >/dev/null; then
        mkdir -p /run/munge /var/log/munge /var/lib/munge
        chown munge:munge /run/munge /var/log/munge /var/lib/munge
        runuser -u munge -- /usr/sbin/munged
    fi
    slurmctld -f "$dir/slurm.conf"
    slurmd -f "$dir/slurm.conf" -N localhost
    export SLURM_CONF="$dir/slurm.conf"
    for _ in $(seq 1 60); do  # the node comes up idle within a few seconds
        if sinfo -h -N -o '%T' 2>/dev/null | grep -qx idle; then
            echo "export SLURM_CONF=$dir/slurm.conf"
            exit 0
        fi
        sleep 1
    done
    echo "the SLURM node did not come up; see $dir/log" >&2
    exit 1
    ;;
down)
    dir=$(realpath -m "${2:?usage: cluster.sh down DIR}")
    export SLURM_CONF="$dir/slurm.conf"
    scancel --full --user=root 2>/dev/null || true
    for pid_file in "$dir/slurmd.pid" "$dir/slurmctld.pid"; do
        [ -f "$pid_file" ] && kill "$(cat "$pid_file")" 2>/dev/null || true
    done
    pkill -x slurmstepd 2>/dev/null || true
    pkill -x munged 2>/dev/null || true
    if [ -f "$dir/linked-etc-slurm-conf" ]; then rm -f /etc/slurm/slurm.conf "$dir/linked-etc-slurm-conf"; fi
    running() {  # any of the daemons (pgrep -x takes one name at a time: 15 characters at most)
        for d in slurmctld slurmd slurmdbd munged; do pgrep -x "$d" >/dev/null && return 0; done
        return 1
    }
    for _ in $(seq 1 30); do
        if ! running; then exit 0; fi
        sleep 1
    done
    for d in slurmctld slurmd slurmdbd munged slurmstepd; do pkill -9 -x "$d" 2>/dev/null || true; done
    sleep 1
    ! running
    ;;
*)
    echo "usage: cluster.sh install|up DIR|down DIR" >&2
    exit 2
    ;;
esac
