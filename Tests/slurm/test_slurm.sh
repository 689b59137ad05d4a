#!/usr/bin/env bash
# launch/slurm.sbatch on a real (one-node) Slurm cluster started by launch/slurm-local:
#   Tests/slurm/test_slurm.sh [BINARY [DATA_DIR]]
# BINARY defaults to $CONVNET_BINARY, else .build/release/convnet-dist; DATA_DIR to
# $CONVNET_DATA_DIR, else ../shared/data/mnist beside the checkout.
# Scenarios, each with 2 tasks (ranks) on the node's 2 CPUs:
#   1. a short run (60 steps) completes: job COMPLETED with exit code 0, model and metrics written;
#      resubmitting it for the same run folder does nothing and exits 0;
#   2. preemption: `scancel --signal=TERM` while it trains; the job checkpoints, prints "Stopped on
#      request" and ends COMPLETED 0:0; `scontrol requeue` runs it again and it resumes to the end;
#   3. self-requeue: CONVNET_REQUEUE_ON_STOP=1 and `scancel -b --signal=TERM` (the batch shell, as at
#      the time limit through --signal=B:TERM@120): the job checkpoints, requeues itself, continues;
#   4. the mpirun launcher (CONVNET_LAUNCHER=mpirun) inside the allocation completes a short run;
#   5. real preemption: a job submitted to partition "urgent" preempts the training job (SIGTERM
#      from Slurm, GraceTime 30 s), which checkpoints, requeues itself (CONVNET_REQUEUE_ON_STOP=1)
#      and resumes to the end once the urgent job is done.
# Prints SKIP and exits 77 where it cannot run: not root, slurm-wlm and munge not installable, or the
# daemons do not start (CONVNET_SLURM_REQUIRED=1 makes that a failure). The daemons are always
# stopped and their folder removed at the end. Every wait is bounded; a run takes about a minute
# (plus the install of slurm-wlm and munge the first time, about 10 s).
# Environment: CONVNET_SLURM_DIR (default /tmp/convnet-slurm-test-PID) and CONVNET_SLURM_PORT
# (default 17817) for the test's cluster; CONVNET_SLURM_TEST_KEEP=1 keeps the job folder.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
binary=${1:-${CONVNET_BINARY:-$repo/.build/release/convnet-dist}}
data=${2:-${CONVNET_DATA_DIR:-$(dirname "$repo")/shared/data/mnist}}
start=$SECONDS
budget=240   # seconds for the whole test; every wait also has its own limit

skip() { echo "SKIP: slurm: $*"; exit 77; }
[ -x "$binary" ] || { echo "test_slurm: no binary at $binary (give BINARY or CONVNET_BINARY)" >&2; exit 2; }
binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")
[ -d "$data" ] || skip "no MNIST folder at $data"
data=$(cd "$data" && pwd)
[ "$(id -u)" -eq 0 ] || skip "needs root to run slurmd"
[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs for 2 tasks"
command -v slurmctld >/dev/null || command -v apt-get >/dev/null || skip "no Slurm and no apt-get to install it"

export CONVNET_SLURM_DIR=${CONVNET_SLURM_DIR:-/tmp/convnet-slurm-test-$$}
export CONVNET_SLURM_PORT=${CONVNET_SLURM_PORT:-17817}
work=$(mktemp -d /tmp/convnet-slurm-jobs.XXXXXX)
passed=0 failed=0
cleanup() {
  local status=$?
  local keep=${CONVNET_SLURM_TEST_KEEP:-0}
  [ "$failed" -gt 0 ] && keep=1
  [ "$status" -ne 0 ] && [ "$status" -ne 77 ] && keep=1
  [ "$keep" = 1 ] && cp -r "$CONVNET_SLURM_DIR/log" "$work/slurm-logs" 2>/dev/null
  "$repo/launch/slurm-local" down >/dev/null 2>&1 || true
  if [ "$keep" = 1 ]; then
    echo "test_slurm: job outputs and run folders kept in $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! "$repo/launch/slurm-local" up >"$work/slurm-local.log" 2>&1; then
  [ "${CONVNET_SLURM_REQUIRED:-0}" = 1 ] && { cat "$work/slurm-local.log"; echo "test_slurm: the cluster did not start" >&2; exit 1; }
  tail -n 5 "$work/slurm-local.log"
  skip "the one-node cluster did not start (launch/slurm-local up; log above)"
fi
eval "$("$repo/launch/slurm-local" env)"
# No Slurm command may hang the test: each gets 30 s (they answer in milliseconds here).
for command in sbatch scancel scontrol sinfo sacct; do
  eval "$command() { timeout 30 $command \"\$@\"; }"
done
echo "test_slurm: cluster up after $((SECONDS - start)) s ($SLURM_CONF)"
sinfo -N -o '%N %T %c %P'

# What the jobs see (sbatch passes the environment on). Open MPI stays on loopback.
export CONVNET_BINARY=$binary CONVNET_DATA_DIR=$data
export OMPI_MCA_oob_tcp_if_include=${OMPI_MCA_oob_tcp_if_include:-lo}
export OMPI_MCA_btl_tcp_if_include=${OMPI_MCA_btl_tcp_if_include:-lo}
cd "$work"
sbatch_script=$repo/launch/slurm.sbatch
resources=(-N1 -n2 -c1 --time=5)

ok() { echo "ok - $*"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }
check() {   # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then ok "$what"; else not_ok "$what"; fi
}
# wait_until SECONDS DESCRIPTION COMMAND...: polls every 0.25 s within the limit and the budget
wait_until() {
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ] || [ $((SECONDS - start)) -ge "$budget" ]; then
      echo "test_slurm: timed out waiting for $what" >&2
      return 1
    fi
    sleep 0.25
  done
}
field() { scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }
finished() {
  case "$(field "$1" JobState)" in
    COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | PREEMPTED | BOOT_FAIL | DEADLINE) return 0 ;;
    *) return 1 ;;
  esac
}
finished_after_restart() { [ "$(field "$1" Restarts)" -ge "$2" ] && finished "$1"; }
requeued() { [ "$(field "$1" Restarts)" -ge 1 ] && [ "$(field "$1" JobState)" = PENDING ]; }
node_idle() { [ "$(sinfo -h -N -o %T 2>/dev/null | head -n 1)" = idle ]; }
# A requeued job waits two minutes (Slurm's guard against requeue loops): start it now, once the
# node has finished cleaning up after its first run.
start_now() {
  wait_until 30 "the node to be idle" node_idle || true
  scontrol update jobid="$1" starttime=now
}
exited_zero() { [ "$(field "$1" JobState)" = COMPLETED ] && [ "$(field "$1" ExitCode)" = 0:0 ]; }
# The job completion record (JobCompType=jobcomp/filetxt, read by sacct -c): STATE|EXITCODE of the
# job's first end.
sacct_record() { sacct -c -n -P -o State,ExitCode -j "$1" 2>/dev/null | head -n 1; }
output() { cat "convnet-dist-$1.out" 2>/dev/null || true; }
says() { output "$1" | grep -q -- "$2"; }
has_checkpoint() { [ -s "$1/checkpoints/latest" ] && [ -s "$1/checkpoints/$(cat "$1/checkpoints/latest")" ]; }
metrics_steps() { awk -F, 'NR == 2 { print $2 }' "$1/metrics.csv" 2>/dev/null; }
# steps.csv (--log-every 10) lists global steps 10, 20, ..., N exactly once each, also across a resume.
step_log_complete() { [ "$(cut -d, -f1 "$1/steps.csv" 2>/dev/null | tail -n +2 | tr '\n' ' ')" = "$(seq -s ' ' 10 10 "$2") " ]; }
submit() { sbatch --parsable "${resources[@]}" "$@"; }
show_job() {   # for a failed check: the job's record and output
  echo "--- job $1: $(scontrol show job -o "$1" 2>&1 | tr ' ' '\n' | grep -E '^(JobState|ExitCode|Restarts|Reason)=' | tr '\n' ' ')"
  output "$1" | grep -v '[─━]' | tail -n 20 || true
}
preempt_when_training() {   # preempt_when_training ID RUN_DIR SCANCEL_FLAGS...: TERM after the first checkpoint
  local id=$1 run=$2; shift 2
  wait_until 60 "job $id to train (first checkpoint)" has_checkpoint "$run" || return 1
  says "$id" "Training on 60000 samples: 2 rank(s)" || return 1
  echo "test_slurm: job $id wrote $(cat "$run/checkpoints/latest"); $(echo scancel "$@" --signal=TERM "$id")"
  scancel "$@" --signal=TERM "$id"
}

# 1. A short run to completion.
echo "# 1. sbatch with 2 tasks, 60 steps, to completion"
t=$SECONDS
id=$(submit "$sbatch_script" --epochs 1 --max-steps 60 --log-every 10)
run=runs/slurm-$id
if wait_until 90 "job $id to end" finished "$id"; then
  check "job $id COMPLETED with exit code 0 (scontrol: $(field "$id" JobState) $(field "$id" ExitCode))" exited_zero "$id"
  check "job $id COMPLETED|0:0 in sacct -c ($(sacct_record "$id"))" [ "$(sacct_record "$id")" = "COMPLETED|0:0" ]
  check "2 ranks trained" says "$id" "Training on 60000 samples: 2 rank(s)"
  check "$run/model.safetensors written" [ -s "$run/model.safetensors" ]
  check "metrics.csv shows 60 steps" [ "$(metrics_steps "$run")" = 60 ]
  check "steps.csv lists steps 10..60" step_log_complete "$run" 60
else
  not_ok "job $id did not end"
fi
[ "$failed" -eq 0 ] || show_job "$id"
id2=$(submit "$sbatch_script" --run-dir "$run" --epochs 1 --max-steps 60)
if wait_until 30 "job $id2 to end" finished "$id2"; then
  check "resubmitting the finished run folder: exit 0, nothing done" \
    eval 'exited_zero "$id2" && says "$id2" "already holds a finished run"'
else
  not_ok "job $id2 did not end"
fi
echo "# scenario 1 took $((SECONDS - t)) s"

# A requeued job, started at once, resumes from its checkpoint and finishes all 200 steps.
resumed_to_the_end() {   # resumed_to_the_end ID RUN_DIR [STEPS (default 200)]
  local id=$1 run=$2 steps=${3:-200}
  start_now "$id"
  if wait_until 90 "requeued job $id to end" finished_after_restart "$id" 1; then
    check "requeued job $id COMPLETED with exit code 0 ($(field "$id" JobState) $(field "$id" ExitCode), restarts $(field "$id" Restarts))" exited_zero "$id"
    check "it resumed from the checkpoint" says "$id" "Resuming from $run/checkpoints/step-"
    check "metrics.csv shows $steps steps" [ "$(metrics_steps "$run")" = "$steps" ]
    check "steps.csv lists steps 10..$steps once each" step_log_complete "$run" "$steps"
  else
    not_ok "requeued job $id did not end"
  fi
}

# 2. Preemption with scancel --signal=TERM (the ranks), then scontrol requeue.
echo "# 2. preemption: scancel --signal=TERM, then scontrol requeue"
t=$SECONDS
before=$failed
id=$(submit "$sbatch_script" --epochs 1 --max-steps 200 --checkpoint-every 20 --log-every 10)
run=runs/slurm-$id
if preempt_when_training "$id" "$run" && wait_until 60 "job $id to stop" finished "$id"; then
  check "preempted job $id COMPLETED with exit code 0 ($(field "$id" JobState) $(field "$id" ExitCode))" exited_zero "$id"
  check "preempted job $id COMPLETED|0:0 in sacct -c ($(sacct_record "$id"))" [ "$(sacct_record "$id")" = "COMPLETED|0:0" ]
  check "its output says Stopped on request" says "$id" "Stopped on request"
  check "a checkpoint after step 20 ($(cat "$run/checkpoints/latest" 2>/dev/null))" \
    eval 'has_checkpoint "$run" && [ "$(cat "$run/checkpoints/latest")" != step-00000020.safetensors ]'
  check "no model.safetensors yet" [ ! -e "$run/model.safetensors" ]
  scontrol requeue "$id"
  resumed_to_the_end "$id" "$run"
  check "the batch script saw the unfinished run and resumed it" says "$id" "resuming it"
  check "$run/model.safetensors written" [ -s "$run/model.safetensors" ]
else
  not_ok "job $id was not preempted while training"
fi
[ "$failed" -eq "$before" ] || show_job "$id"
echo "# scenario 2 took $((SECONDS - t)) s"

# 3. scancel -b --signal=TERM (the batch shell) with CONVNET_REQUEUE_ON_STOP=1: the job requeues itself.
echo "# 3. scancel -b --signal=TERM with CONVNET_REQUEUE_ON_STOP=1: the job requeues itself"
t=$SECONDS
before=$failed
id=$(CONVNET_REQUEUE_ON_STOP=1 submit "$sbatch_script" --epochs 1 --max-steps 200 --checkpoint-every 20 --log-every 10)
run=runs/slurm-$id
if preempt_when_training "$id" "$run" -b && wait_until 60 "job $id to requeue itself" requeued "$id"; then
  check "job $id stopped on request and requeued itself" \
    eval 'says "$id" "Stopped on request" && says "$id" "requeueing job $id"'
  resumed_to_the_end "$id" "$run"
else
  not_ok "job $id did not stop and requeue itself"
fi
[ "$failed" -eq "$before" ] || show_job "$id"
echo "# scenario 3 took $((SECONDS - t)) s"

# 4. The mpirun launcher inside the allocation.
echo "# 4. CONVNET_LAUNCHER=mpirun, 60 steps"
t=$SECONDS
before=$failed
id=$(CONVNET_LAUNCHER=mpirun submit "$sbatch_script" --epochs 1 --max-steps 60)
run=runs/slurm-$id
if wait_until 90 "job $id to end" finished "$id"; then
  check "mpirun job $id COMPLETED with exit code 0 ($(field "$id" JobState) $(field "$id" ExitCode))" exited_zero "$id"
  check "2 ranks trained" says "$id" "Training on 60000 samples: 2 rank(s)"
  check "metrics.csv shows 60 steps" [ "$(metrics_steps "$run")" = 60 ]
else
  not_ok "job $id did not end"
fi
[ "$failed" -eq "$before" ] || show_job "$id"
echo "# scenario 4 took $((SECONDS - t)) s"

# 5. Real preemption: a job in partition "urgent" (PriorityTier 2) needs the node; the training job
# in "local" (PreemptMode=REQUEUE, GraceTime=30) gets SIGTERM, checkpoints, requeues itself.
echo "# 5. preemption by a job in partition urgent, CONVNET_REQUEUE_ON_STOP=1"
t=$SECONDS
before=$failed
# 900 steps (of the epoch's 938): the scheduler takes a second or two to preempt, and 200 steps (1.3 s on a 2-core
# AVX-512 machine) could end first.
id=$(CONVNET_REQUEUE_ON_STOP=1 submit "$sbatch_script" --epochs 1 --max-steps 900 --checkpoint-every 20 --log-every 10)
run=runs/slurm-$id
if wait_until 60 "job $id to train (first checkpoint)" has_checkpoint "$run"; then
  urgent=$(sbatch --parsable -p urgent -n2 -c1 --time=1 --output=urgent-%j.out --wrap 'echo urgent job ran')
  echo "test_slurm: job $id wrote $(cat "$run/checkpoints/latest"); submitted job $urgent to partition urgent"
  if wait_until 60 "urgent job $urgent to end" finished "$urgent"; then
    check "urgent job $urgent ran ($(field "$urgent" JobState) $(field "$urgent" ExitCode))" \
      eval 'exited_zero "$urgent" && grep -q "urgent job ran" "urgent-$urgent.out"'
    check "preempted job $id stopped on request and requeued itself ($(field "$id" JobState), restarts $(field "$id" Restarts))" \
      eval 'requeued "$id" && says "$id" "Stopped on request" && says "$id" "requeueing job $id"'
    resumed_to_the_end "$id" "$run" 900
  else
    not_ok "urgent job $urgent did not run"
  fi
else
  not_ok "job $id did not start training"
fi
[ "$failed" -eq "$before" ] || show_job "$id"
echo "# scenario 5 took $((SECONDS - t)) s"

echo "test_slurm: $((SECONDS - start)) s in all"
echo "slurm: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
