#!/usr/bin/env bash
# Candidates per hour of one small search: serial (this process trains, 2 threads)
# against `mpirun -np 3` (rank 0 drives, 2 workers train with 1 thread each), same
# search and seed, batch 2; then the equality check: the MPI run's candidates,
# accuracies and rewards against a serial run of the same configuration.
#
#   flock /tmp/frostnas_measure.lock bench/mpi_search.sh [build/frostnas] [SAMPLES]
#
# Data: Fashion-MNIST, 1500 training + 500 validation images, 1 epoch per candidate.
# Prints the wall time of each run, candidates per hour and their ratio.
set -euo pipefail
bin=${1:-build/frostnas}
samples=${2:-8}
space=$(cd "$(dirname "$0")/.." && pwd)/experiments/spaces/proxy.json
dir=$(mktemp -d /tmp/frostnas_mpi_bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_WAIT_POLICY=PASSIVE

config() {  # threads file
  cat >"$2" <<JSON
{"format": "frostnas.search/1", "name": "mpi-bench", "space": "$space",
 "strategy": {"name": "rl"}, "samples": $samples, "batch": 2, "seed": 7,
 "data": {"name": "fashion-mnist", "train_subset": 1500, "val_size": 500},
 "train": {"epochs": 1, "batch_size": 64, "fp_warmup_epochs": 0.5, "threads": $1},
 "latency": {"source": "macs", "target_ms": 5.0}}
JSON
}
config 2 "$dir/t2.json"
config 1 "$dir/t1.json"

timed() {  # name command...
  local start end
  start=$(date +%s.%N)
  "${@:2}" >"$dir/$1.out" 2>"$dir/$1.err" || { cat "$dir/$1.err"; exit 1; }
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
t_serial=$(timed serial "$bin" search --workers serial --quiet --config "$dir/t2.json" --db "$dir/serial.sqlite")
t_mpi=$(timed mpi mpirun -q --oversubscribe --bind-to none -np 3 "$bin" search --quiet --config "$dir/t1.json" --db "$dir/mpi.sqlite")
t_ref=$(timed ref "$bin" search --workers serial --quiet --config "$dir/t1.json" --db "$dir/ref.sqlite")
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

printf "serial, 2 threads:           %6.1f s  %7.1f candidates/hour\n" "$t_serial" "$(echo "$samples * 3600 / $t_serial" | bc -l)"
printf "mpirun -np 3, 2 x 1 thread:  %6.1f s  %7.1f candidates/hour\n" "$t_mpi" "$(echo "$samples * 3600 / $t_mpi" | bc -l)"
printf "speed-up (serial time / MPI time): %.2f\n" "$(echo "$t_serial / $t_mpi" | bc -l)"
printf "serial, 1 thread (reference for the equality check): %6.1f s\n" "$t_ref"

python3 - "$dir" <<'PY'
import sqlite3, sys
d = sys.argv[1]
def rows(name):
    db = sqlite3.connect(f"{d}/{name}.sqlite")
    return db.execute("SELECT seq, arch_hash, status, fp32_acc, qat_acc, int8_acc, reward "
                      "FROM candidates WHERE experiment_id = 1 ORDER BY seq").fetchall()
mpi, ref, serial2 = rows("mpi"), rows("ref"), rows("serial")
print(f"equality, MPI vs serial (same config, 1 thread): {'identical' if mpi == ref else 'DIFFERENT'} "
      f"({len(mpi)} candidates)")
print(f"MPI (1 thread) vs serial with 2 threads: "
      f"{'identical' if mpi == serial2 else 'different (thread count changes the arithmetic)'}")
PY
