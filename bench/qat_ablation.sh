#!/bin/sh
# Ablation of the quantization schemes on Fashion-MNIST, 3 seeds each, same budget:
#   plain QAT from scratch (sgd), StatAssist alone (sgd), StatAssist + GradBoost (qsgd),
#   float training + post-training quantization (sgd).
# Prints a table of the mean and spread (sample std, min..max) of the INT8 test accuracy.
#
#   ninja -C build qat_fashion_mnist
#   BUDGET=900 EPOCHS=8 SEEDS="0 1 2" bench/qat_ablation.sh [extra qat_fashion_mnist options]
#   BUDGET=0 EPOCHS=2 bench/qat_ablation.sh --train-subset 10000 --val-size 2000
#       (a budget in steps: every run takes the same steps whatever the machine's load)
#
# Environment: BIN (default build/bench/qat_fashion_mnist), BUDGET seconds per run,
# EPOCHS, SEEDS, OUT (directory for the per-run logs, default /tmp/frostnas_ablation).
set -eu
BIN=${BIN:-build/bench/qat_fashion_mnist}
BUDGET=${BUDGET:-900}
EPOCHS=${EPOCHS:-8}
SEEDS=${SEEDS:-"0 1 2"}
OUT=${OUT:-/tmp/frostnas_ablation}
mkdir -p "$OUT"
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}
for variant in "plain sgd" "statassist sgd" "statassist qsgd" "none sgd"; do
  set -- $variant "$@"
  qat=$1; opt=$2; shift 2
  for seed in $SEEDS; do
    log="$OUT/${qat}_${opt}_${seed}.log"
    "$BIN" --qat "$qat" --optimizer "$opt" --seed "$seed" --epochs "$EPOCHS" \
      --time-budget "$BUDGET" "$@" > "$log" 2>&1 || true
    tail -n 1 "$log"
  done
done | python3 -c '
import json, statistics, sys
rows = {}
for line in sys.stdin:
    line = line.strip()
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    rows.setdefault((r["qat"], r["optimizer"]), []).append(r)
names = {("plain", "sgd"): "plain QAT (sgd)", ("statassist", "sgd"): "StatAssist (sgd)",
         ("statassist", "qsgd"): "StatAssist + GradBoost (qsgd)", ("none", "sgd"): "float + PTQ (sgd)"}
print("%-30s %5s %9s %7s %15s %9s %9s %7s" % ("scheme", "runs", "int8 mean", "std", "min..max", "qat mean", "train s", "steps"))
for key, name in names.items():
    rs = rows.get(key, [])
    acc = [r["test_int8_acc"] for r in rs if r["test_int8_acc"] is not None and not r["diverged"]]
    qat = [r["test_qat_acc"] for r in rs if r["test_qat_acc"] is not None and not r["diverged"]]
    if not acc:
        print("%-30s %5d %9s" % (name, len(rs), "-"))
        continue
    sd = statistics.stdev(acc) if len(acc) > 1 else 0.0
    steps = sorted(set(r["steps"] for r in rs))
    print("%-30s %5d %9.2f %7.2f %7.2f..%-6.2f %9.2f %9.0f %7s" % (name, len(acc), statistics.mean(acc), sd,
          min(acc), max(acc), statistics.mean(qat), statistics.mean(r["train_seconds"] for r in rs),
          "/".join(str(s) for s in steps)))
'
