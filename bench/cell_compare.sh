#!/bin/sh
# The searched cell against a random cell from the same op set and against
# the Frost squeeze-and-concatenate branch, each as the cell of every block of the proxy
# network, trained alike (StatAssist + QSGD, same budget), 3 seeds. Prints INT8 test
# accuracy (mean, sample std) and measured INT8 batch-1 latency (`frostnas eval`, 1 thread).
#
#   ninja -C build frostnas
#   SUBSET=6000 EPOCHS=2 SEEDS="0 1 2" bench/cell_compare.sh
#
# Environment: BIN (default build/frostnas), SUBSET training images, EPOCHS, BUDGET seconds
# per run (0: none), SEEDS, OUT (run directories, default /tmp/frostnas_cells).
set -eu
BIN=${BIN:-build/frostnas}
SUBSET=${SUBSET:-6000}
EPOCHS=${EPOCHS:-2}
BUDGET=${BUDGET:-0}
SEEDS=${SEEDS:-"0 1 2"}
OUT=${OUT:-/tmp/frostnas_cells}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
mkdir -p "$OUT"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
for cell in frost searched random; do
  for seed in $SEEDS; do
    dir="$OUT/${cell}_${seed}"
    rm -rf "$dir"
    "$BIN" train --arch "experiments/archs/proxy_cell_${cell}.json" --data fashion-mnist \
      --train-subset "$SUBSET" --epochs "$EPOCHS" --time-budget "$BUDGET" --batch-size 128 \
      --lr 0.05 --threads 2 --seed "$seed" --out "$dir" > "$dir.train.log" 2>&1
    "$BIN" eval --model "$dir" --data fashion-mnist --threads 1 --json > "$dir.eval.json" 2> "$dir.eval.err"
    echo "$cell $seed $dir"
  done
done | python3 -c '
import json, statistics, sys
rows = {}
for line in sys.stdin:
    cell, seed, d = line.split()
    m = json.load(open(d + "/metrics.json"))
    e = json.load(open(d + ".eval.json"))
    rows.setdefault(cell, []).append((m["int8_acc"], e.get("latency_ms_median")))
print("%-9s %5s %16s %16s" % ("cell", "runs", "INT8 test %", "INT8 ms (1 thr)"))
for cell, v in rows.items():
    acc = [a for a, _ in v]; lat = [l for _, l in v if l is not None]
    sd = statistics.stdev(acc) if len(acc) > 1 else 0.0
    print("%-9s %5d %9.2f ± %4.2f %16s" % (cell, len(v), statistics.mean(acc), sd,
          "%.3f" % statistics.median(lat) if lat else "-"))
'
