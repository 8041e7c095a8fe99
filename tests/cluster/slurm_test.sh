#!/usr/bin/env bash
# The workflow on a real single-node SLURM cluster, through snakemake-executor-plugin-slurm.
#
#   sudo bash tests/cluster/slurm_test.sh        (root on Debian; CI runs it after make test)
#
# Installs SLURM, munge and MariaDB from Debian's packages when missing, starts private
# daemons (own config, ports and state under one temporary folder; the only system paths
# used are munged's default socket and slurmd's configless link /run/slurm/conf, which the
# plugin's job steps need), runs a small workflow at budget=smoke once locally and once with
# --workflow-profile profiles/slurm, then checks that every job went through SLURM (sacct
# lists each as COMPLETED) and that both runs give the same Table I, cost and shot-noise
# tables. Every daemon it started is stopped by process id at the end, also when a step
# fails. Every wait is bounded.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
MIRROR=$(realpath "${QDISTILL_DATA_MIRROR:-${DATA_MIRROR:-$REPO/../shared/datasets}}")
WORK=$(mktemp -d /tmp/qdistill-slurm.XXXXXX)
KEEP_WORK=${KEEP_WORK:-0}
DAEMONS=()  # "name:pid", in start order
START_TIME=$(date +%s)

say() { echo "[slurm-test $(date +%H:%M:%S)] $*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

stop_daemons() {
  local status=$?
  trap '' INT TERM  # a second Ctrl-C must not cut the clean-up short
  set +e
  if [ -n "${SLURM_CONF:-}" ] && command -v scancel >/dev/null; then
    timeout 20 scancel --user=root >/dev/null 2>&1
  fi
  for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
    local name=${DAEMONS[i]%%:*} pid=${DAEMONS[i]##*:}
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      if kill -0 "$pid" 2>/dev/null; then
        say "$name (pid $pid) ignored SIGTERM for 20 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null
      fi
      say "stopped $name (pid $pid)"
    fi
  done
  [ "${CREATED_CONF_LINK:-0}" = 1 ] && rm -f /run/slurm/conf
  if [ "$status" -ne 0 ]; then
    for log in "$WORK"/log/*.log; do
      [ -f "$log" ] && { say "last lines of $log:"; tail -n 15 "$log" >&2; }
    done
  fi
  if [ "$KEEP_WORK" = 1 ] || [ "$status" -ne 0 ]; then
    say "work folder kept: $WORK"
  else
    rm -rf "$WORK"
  fi
  say "finished with status $status after $(( $(date +%s) - START_TIME )) s"
  exit "$status"
}
trap stop_daemons EXIT
trap 'exit 130' INT TERM

# wait_for SECONDS WHAT COMMAND...: poll COMMAND (at most 10 s each try) every half second,
# fail after SECONDS.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$(( $(date +%s) + seconds ))
  until timeout 10 "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "$what: not ready after $seconds s"
    sleep 0.5
  done
}

# start NAME LOGFILE COMMAND...: run a daemon in the foreground of a background job.
start() {
  local name=$1 log=$2
  shift 2
  "$@" >>"$log" 2>&1 &
  local pid=$!
  DAEMONS+=("$name:$pid")
  sleep 0.5
  kill -0 "$pid" 2>/dev/null || fail "$name did not start ($*); see $log"
  say "started $name (pid $pid)"
}

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# --- prerequisites ----------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || fail "run as root (it installs packages and starts daemons)"
[ -f /etc/debian_version ] || fail "needs Debian (apt-get) to install SLURM"
[ -d "$MIRROR/MNIST/raw" ] || fail "no dataset mirror at $MIRROR; set QDISTILL_DATA_MIRROR"
# Job steps find the cluster's config through slurmd's configless link (the executor plugin
# clears SLURM_CONF in them); a node of a real cluster would send them to that cluster.
[ ! -e /etc/slurm/slurm.conf ] || fail "/etc/slurm/slurm.conf exists: this machine belongs \
to a SLURM cluster; run this test on a machine without one"
[ ! -e /run/slurm/conf ] || fail "/run/slurm/conf exists: a configless slurmd runs here"
for tool in slurmctld slurmd slurmdbd sacctmgr sbatch munged mungekey mariadbd \
            mariadb-install-db; do
  if ! command -v "$tool" >/dev/null; then
    say "installing SLURM, munge and MariaDB from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 apt-get update -q >/dev/null || fail "apt-get update"
    timeout 900 apt-get install -y -q --no-install-recommends slurmctld slurmd slurmdbd \
      slurm-client munge mariadb-server >/dev/null || fail "apt-get install of SLURM"
    break
  fi
done
say "$(slurmctld -V), $(mariadbd --version | cut -d' ' -f1-4)"
timeout 900 make -C "$REPO" setup >/dev/null || fail "make setup (the virtual environment)"
PY=$REPO/.venv/bin/python
SNAKEMAKE=$REPO/.venv/bin/snakemake
"$PY" -c "import snakemake_executor_plugin_slurm" || fail "snakemake-executor-plugin-slurm missing"

mkdir -p "$WORK"/{etc,log,run,state,spool,munge,db}
HOST=$(hostname -s)
DB_PORT=$(free_port); DBD_PORT=$(free_port); CTLD_PORT=$(free_port); SLURMD_PORT=$(free_port)
export SLURM_CONF=$WORK/etc/slurm.conf  # every SLURM command and job reads this cluster

# --- munge ------------------------------------------------------------------------------
# On its default socket: SLURM's clients use that one for slurmdbd connections whatever
# AuthInfo says. A munged already serving it (a real cluster node) is used, not started.
if timeout 10 munge --no-input >/dev/null 2>&1; then
  say "using the munged already running on the default socket"
else
  mkdir -p /run/munge
  chmod 755 /run/munge
  mungekey --create --keyfile="$WORK/munge/munge.key" --force
  chmod 700 "$WORK/munge"
  start munged "$WORK/log/munged.log" munged --foreground --force \
    --key-file="$WORK/munge/munge.key" --pid-file="$WORK/run/munged.pid" \
    --seed-file="$WORK/munge/munge.seed" --log-file="$WORK/log/munged.log"
  wait_for 30 munged munge --no-input
fi

# --- MariaDB, for slurmdbd's accounting -------------------------------------------------
DB_SOCKET=$WORK/db/mysqld.sock
timeout 120 mariadb-install-db --no-defaults --user=root --datadir="$WORK/db/data" \
  --auth-root-authentication-method=socket >"$WORK/log/mariadb-install.log" 2>&1 \
  || fail "mariadb-install-db; see $WORK/log/mariadb-install.log"
start mariadbd "$WORK/log/mariadb.log" mariadbd --no-defaults --user=root \
  --datadir="$WORK/db/data" --socket="$DB_SOCKET" --port="$DB_PORT" \
  --bind-address=127.0.0.1 --pid-file="$WORK/run/mariadb.pid"
wait_for 60 mariadbd mariadb --no-defaults --socket="$DB_SOCKET" -u root -e "SELECT 1"
DB_PASS=$("$PY" -c 'import secrets; print(secrets.token_hex(12))')
mariadb --no-defaults --socket="$DB_SOCKET" -u root -e "
  CREATE DATABASE slurm_acct_db;
  CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';" || fail "creating the accounting DB"

# --- SLURM configuration ----------------------------------------------------------------
cat >"$WORK/etc/slurmdbd.conf" <<EOF
AuthType=auth/munge
DbdHost=localhost
DbdPort=$DBD_PORT
SlurmUser=root
LogFile=$WORK/log/slurmdbd.log
PidFile=$WORK/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
EOF
chmod 600 "$WORK/etc/slurmdbd.conf"
NODE=$(slurmd -C | head -n 1)  # this machine as slurmd sees it: NodeName=... CPUs=...
cat >"$WORK/etc/slurm.conf" <<EOF
ClusterName=qdistill
SlurmctldHost=$HOST
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/run/slurmctld.pid
SlurmdPidFile=$WORK/run/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
PlugStackConfig=$WORK/etc/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SlurmctldParameters=enable_configless
$NODE State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
: >"$WORK/etc/plugstack.conf"

start slurmdbd "$WORK/log/slurmdbd.log" slurmdbd -D
wait_for 60 slurmdbd sacctmgr -n list cluster
timeout 30 sacctmgr -i add cluster qdistill >/dev/null || fail "sacctmgr add cluster"
timeout 30 sacctmgr -i add account qdistill Cluster=qdistill Description=tests \
  Organization=qdistill >/dev/null || fail "sacctmgr add account"
timeout 30 sacctmgr -i add user root Account=qdistill >/dev/null || fail "sacctmgr add user"
start slurmctld "$WORK/log/slurmctld.log" slurmctld -D -i
wait_for 60 slurmctld scontrol ping
# configless: slurmd fetches the config from slurmctld and links it at /run/slurm/conf
CREATED_CONF_LINK=1
start slurmd "$WORK/log/slurmd.log" env -u SLURM_CONF slurmd -D \
  --conf-server "localhost:$CTLD_PORT"
wait_for 90 "node $HOST idle" sh -c "sinfo -h -n $HOST -o %t | grep -qx idle"
say "cluster up: $(sinfo -h -o '%P %a %D %t %c CPUs %m MB')"

# --- the workflow, locally and through SLURM --------------------------------------------
copy_workflow() {
  mkdir -p "$1"
  for name in Snakefile config.yaml rules scripts envs schemas profiles src; do
    cp -a "$REPO/$name" "$1/"
  done
}
# A small DAG with every kind of rule (download, distill, evaluate, baseline, shots,
# full_data, cost, transfer, extensions and the reports): MNIST, one classical and one
# quantum model, one extension and one transferred set. The full DAG's rules on both
# datasets run locally in tests/test_workflow.py.
copy_workflow "$WORK/local"
copy_workflow "$WORK/slurm"
cat >"$WORK/small.yaml" <<'YAML'
datasets: [mnist]
models: [classical, q-res-herm]
extensions: {reference: q-res-herm, models: [q-res-herm-frozen], transfer_models: [classical],
             transfer_first_seed: 1000}
random_init: {models: [], n_nets: 1, distill_steps: 10}
YAML
cp "$WORK/small.yaml" "$WORK/local/small.yaml"
cp "$WORK/small.yaml" "$WORK/slurm/small.yaml"
SMOKE=(budget=smoke "data_mirror=$MIRROR")

say "local run (budget=smoke)"
(cd "$WORK/local" && timeout 1200 "$SNAKEMAKE" --cores 2 \
  --configfile small.yaml --config "${SMOKE[@]}" "data_root=$WORK/local/data" >"$WORK/log/local-run.log" 2>&1) \
  || fail "local run; see $WORK/log/local-run.log"

say "SLURM run (budget=smoke, --workflow-profile profiles/slurm)"
(cd "$WORK/slurm" && timeout 2400 "$SNAKEMAKE" --workflow-profile profiles/slurm \
  --default-resources slurm_account=qdistill slurm_partition=debug \
  --slurm-init-seconds-before-status-checks 5 \
  --configfile small.yaml --config "${SMOKE[@]}" "data_root=$WORK/slurm/data" >"$WORK/log/slurm-run.log" 2>&1) \
  || { tail -n 40 "$WORK/log/slurm-run.log" >&2; fail "SLURM run; see $WORK/log/slurm-run.log"; }

# --- checks -----------------------------------------------------------------------------
submitted=$(grep -c "has been submitted with SLURM jobid" "$WORK/log/slurm-run.log" || true)
dry_run=$(cd "$WORK/local" && timeout 300 "$SNAKEMAKE" -n --forceall --configfile small.yaml --config "${SMOKE[@]}" \
  "data_root=$WORK/local/data" 2>&1) || fail "dry run of the local workflow"
planned=$(awk '/^Job stats:/ {s = 1} s && $1 == "total" {print $2; exit}' <<<"$dry_run")
[ -n "$planned" ] || fail "no job count in the dry run"
planned=$((planned - 1))  # the target rule `all` has nothing to run, so it is not submitted
say "jobs planned $planned, submitted to SLURM $submitted"
[ "$submitted" -eq "$planned" ] || fail "$planned jobs planned but $submitted submitted to SLURM"

timeout 60 sacct -X -n -P -a --starttime=now-3hours --format=JobID,Comment%60,State,Elapsed \
  >"$WORK/sacct.txt" || fail "sacct"
say "sacct:"; sed 's/^/    /' "$WORK/sacct.txt" >&2
rows=$(wc -l <"$WORK/sacct.txt")
completed=$(grep -c "|COMPLETED|" "$WORK/sacct.txt" || true)
[ "$rows" -eq "$submitted" ] || fail "sacct lists $rows jobs, $submitted were submitted"
[ "$completed" -eq "$rows" ] || fail "only $completed of $rows SLURM jobs COMPLETED"

for table in table1.csv cost.csv shots.csv transfer.csv; do
  cmp "$WORK/local/results/smoke/tables/$table" "$WORK/slurm/results/smoke/tables/$table" \
    || fail "$table differs between the local and the SLURM run"
done
# extensions.csv: all but column 14, s_per_iteration (a timing)
without_timing() { cut -d, -f1-13,15- "$1/results/smoke/tables/extensions.csv"; }
[ "$(sed -n 1p "$WORK/local/results/smoke/tables/extensions.csv" | cut -d, -f14)" = s_per_iteration ] \
  || fail "extensions.csv: column 14 is not s_per_iteration"
cmp <(without_timing "$WORK/local") <(without_timing "$WORK/slurm") \
  || fail "extensions.csv differs between the local and the SLURM run"
cmp "$WORK/local/results/smoke/tables/runs.csv" "$WORK/slurm/results/smoke/tables/runs.csv" >/dev/null \
  || say "note: runs.csv differs (timings) - expected"
say "PASSED: $completed SLURM jobs COMPLETED; Table I, cost, shots, transfer and extensions tables identical to the local run"
