#!/usr/bin/env bash
# Per-channel against per-tensor weight quantization over whole `frostnas train` runs: for
# each seed the two schemes train the same architecture on the same images, initialisation
# and data order (StatAssist, half an epoch in float then QAT), alternating so that load
# drift hits both alike. Prints per run the FP32 and INT8 validation accuracy and the
# FP32 -> INT8 drop, per seed the per_tensor - per_channel differences, and their mean and
# sample sd over the seeds.
#
#   flock /tmp/frostnas_measure.lock bench/weight_quant_runs.sh \
#       experiments/archs/proxy_default.json [SEEDS]
#
# Environment: BIN (default build/frostnas), SUBSET (8000), VAL (2000), EPOCHS (1),
# WARMUP (0.5, float epochs before QAT), THREADS (2).
set -euo pipefail
arch=${1:?usage: bench/weight_quant_runs.sh ARCH [SEEDS]}
seeds=${2:-"1 2 3"}
bin=${BIN:-build/frostnas}
out=$(mktemp -d /tmp/frostnas_weight_quant.XXXXXX)
trap 'rm -rf "$out"' EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for seed in $seeds; do
  for wq in per_channel per_tensor; do
    "$bin" train --arch "$arch" --data fashion-mnist --train-subset "${SUBSET:-8000}" \
      --val-size "${VAL:-2000}" --no-test --epochs "${EPOCHS:-1}" \
      --fp-warmup-epochs "${WARMUP:-0.5}" --batch-size 128 --lr 0.05 \
      --threads "${THREADS:-2}" --seed "$seed" --weight-quant "$wq" \
      --quiet --out "$out/$seed-$wq" >"$out/$seed-$wq.log" 2>&1
  done
done
python3 - "$out" $seeds <<'PY'
import json, statistics, sys
out, seeds = sys.argv[1], sys.argv[2:]
d_int8, d_drop = [], []
print(f"{'seed':>4} {'scheme':<12} {'fp32 %':>7} {'int8 %':>7} {'drop':>6}")
for seed in seeds:
    row = {}
    for wq in ("per_channel", "per_tensor"):
        m = json.load(open(f"{out}/{seed}-{wq}/metrics.json"))
        assert m["weight_quant"] == wq, m["weight_quant"]
        fp32, int8 = m["fp32_acc"], m["int8_acc"]
        row[wq] = (fp32, int8, fp32 - int8)
        print(f"{seed:>4} {wq:<12} {fp32:7.2f} {int8:7.2f} {fp32 - int8:6.2f}")
    d_int8.append(row["per_tensor"][1] - row["per_channel"][1])
    d_drop.append(row["per_tensor"][2] - row["per_channel"][2])
    print(f"{seed:>4} per_tensor - per_channel: int8 {d_int8[-1]:+.2f}, drop {d_drop[-1]:+.2f}")
sd = lambda v: statistics.stdev(v) if len(v) > 1 else float("nan")
print(f"mean over {len(seeds)} seeds: int8 {statistics.mean(d_int8):+.2f} (sd {sd(d_int8):.2f}), "
      f"drop {statistics.mean(d_drop):+.2f} (sd {sd(d_drop):.2f}) points")
PY
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
