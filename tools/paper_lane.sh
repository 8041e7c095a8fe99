#!/usr/bin/env bash
# One lane of long runs outside Snakemake, as the shipped paper-budget runs were made:
# pops "dataset model seed" lines from QUEUE (shared by several lanes under a lock), runs
# each distillation with one thread from WORKTREE (a git worktree of a fixed commit, so
# that edits elsewhere never reach a running job), evaluates it, and records the command,
# commit, times and exit code in run_meta.json beside the run. A run carried over in
# published/ (checkpoint.pt) is resumed. Then: python -m qdistill publish OUT/... --meta
# OUT/.../run_meta.json
#
#   tools/paper_lane.sh WORKTREE QUEUE OUT [BUDGET]      e.g. start two: (... &) twice
set -u
worktree=$(cd "$1" && pwd) queue=$2 out=$3 budget=${4:-paper}
python=${PYTHON:-$(command -v python)}
mirror=${DATA_MIRROR:-$worktree/../shared/datasets}
while true; do
  line=$(flock "$queue.lock" bash -c "head -n1 '$queue'; sed -i 1d '$queue'")
  [ -z "$line" ] && break
  read -r dataset model seed <<<"$line"
  run=$out/$dataset/$model/seed$seed
  mkdir -p "$run"
  commit=$(git -C "$worktree" rev-parse HEAD)
  (cd "$worktree" && PYTHONPATH="$worktree/src" "$python" -c "
from qdistill.published import PUBLISHED_ROOT, resume_carried
print('resuming a carried run' if resume_carried(PUBLISHED_ROOT, '$budget', '$dataset', '$model', $seed, '$run') else '')")
  args="--dataset $dataset --model $model --seed $seed --budget $budget"
  common="--data-mirror $mirror --data-root $out/data --threads 1"
  started=$(date -u +%FT%TZ)
  (cd "$worktree" && PYTHONPATH="$worktree/src" /usr/bin/time -f "%U %S %e" -o "$run/time.txt" \
     "$python" -m qdistill distill $args --out "$run" $common --no-progress \
   && PYTHONPATH="$worktree/src" "$python" -m qdistill evaluate "$run" $common) \
     > "$run/lane.log" 2>&1
  code=$?
  read -r user sys wall < <(tail -n1 "$run/time.txt")
  cat > "$run/run_meta.json" <<JSON
{"command": "python -m qdistill distill $args --out RUN_DIR --threads 1",
 "source_commit": "$commit", "started": "$started", "ended": "$(date -u +%FT%TZ)",
 "exit_code": $code, "process_cpu_s": $(echo "$user + $sys" | bc), "process_wall_s": $wall,
 "host": "$(hostname)", "nproc": $(nproc)}
JSON
done
