#!/usr/bin/env bash
# Every configuration of the Koopman reproduction table (docs/koopman.md), in two lanes of one
# thread each (about 45 minutes on 2 CPU cores), then the tables and the figure:
#   bash examples/koopman_reproduce.sh [output folder]
set -euo pipefail
out=${1:-examples/output}
run="python examples/koopman_lorenz.py --out $out --save"
export OMP_NUM_THREADS=1 XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
lane_one() {
  $run --information infonce --operator learned  # the six-point grid
  $run --information gaussian --operator learned --grid 2,0 2,0.1 2,0.5
  $run --information infonce --operator ridge --grid 0,0 2,0 0,0.1 2,0.1
  $run --information gaussian --operator ridge --grid 2,0 2,0.1
  $run --contrast window --grid 2,0 2,0.1
  $run --no-spectral-norm --grid 0,0 2,0.1
  $run --steps 15000 --batch 64 --chunk 500 --grid 2,0.1 --seeds 0 1 --tag lorenz_long_full
}
lane_two() {
  $run --protocol released --grid 0,0 2,-0.1 2,0 2,0.1
  $run --system pendulum --grid 0,0 0,0.1 0,0.5 2,0 2,0.1 2,0.5
  $run --system pendulum --information gaussian --grid 2,0 2,0.1
  $run --steps 15000 --batch 64 --chunk 500 --grid 0,0 0,0.1 --seeds 0 1 --tag lorenz_long_plain
}
lane_one > "$out/koopman_lane_one.log" 2>&1 &
lane_two > "$out/koopman_lane_two.log" 2>&1 &
wait
python examples/koopman_claims.py "$out"
