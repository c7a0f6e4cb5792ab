#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for testing profiles/slurm (root, Debian 12).
#   local_cluster.sh install        apt-get install SLURM 22.05 + munge (prints what it installed)
#   local_cluster.sh start STATE    configure and start munged, slurmctld, slurmd; wait for the node
#   local_cluster.sh stop STATE     stop exactly the daemons started by `start STATE`
# No accounting (no slurmdbd): Snakemake's plugin must poll squeue (slurm-status-command).
set -euo pipefail
action=${1:?install|start|stop}
state=${2:-}

case "$action" in
install)
    missing=()
    for pkg in slurmctld slurmd slurm-client munge; do
        [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = "install ok installed" ] || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    echo "${missing[@]:-}"
    ;;
start)
    mkdir -p "$state"/{ctld,spool,pids,logs,munge}
    chown -R slurm: "$state"/ctld "$state"/spool "$state"/logs
    chown munge: "$state"/munge
    host=$(hostname)
    node=$(slurmd -C | head -n 1 | sed "s/\$/ NodeAddr=127.0.0.1 State=UNKNOWN/")
    mkdir -p /etc/slurm
    [ -f /etc/munge/munge.key ] || { dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; chown munge: /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
    cat > /etc/slurm/slurm.conf <<CONF
ClusterName=genoprep
SlurmctldHost=${host}(127.0.0.1)
AuthType=auth/munge
SlurmUser=slurm
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/pids/slurmctld.pid
SlurmdPidFile=$state/pids/slurmd.pid
SlurmctldLogFile=$state/logs/slurmctld.log
SlurmdLogFile=$state/logs/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=300
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
$node
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP DefMemPerCPU=500
CONF
    mkdir -p /run/munge && chown munge: /run/munge
    runuser -u munge -- /usr/sbin/munged --pid-file="$state/munge/munged.pid" --log-file="$state/munge/munged.log"
    slurmctld
    slurmd
    for _ in $(seq 60); do
        sinfo -h -o %T 2>/dev/null | grep -qx idle && exit 0
        sleep 0.5
    done
    echo "the SLURM node did not become idle; see $state/logs" >&2
    exit 1
    ;;
stop)
    for pidfile in "$state"/pids/slurmd.pid "$state"/pids/slurmctld.pid "$state"/munge/munged.pid; do
        [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    ;;
*)
    echo "usage: $0 install|start STATE|stop STATE" >&2
    exit 2
    ;;
esac
