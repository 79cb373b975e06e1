#!/usr/bin/env bash
# QAT against float training throughput over whole `frostnas train` runs, the two arms
# alternating (QAT, float, QAT, float, ...) so that load drift hits both alike, with the
# same optimizer: prints each run's training-loop throughput (metrics.json
# images_per_second) and the QAT / float ratio per seed.
#
#   build/frostnas arch show frostnet-small-1.0 --input-size 28 --in-channels 1 --classes 10 \
#       --json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["arch"]))' \
#       > /tmp/small28.json
#   flock /tmp/frostnas_measure.lock bench/qat_vs_float_runs.sh /tmp/small28.json [SEEDS]
#
# Environment: BIN (default build/frostnas), SUBSET (4000), EPOCHS (1), THREADS (2),
# OPTIMIZER (qsgd).
set -euo pipefail
arch=${1:?usage: bench/qat_vs_float_runs.sh ARCH [SEEDS]}
seeds=${2:-"1 2 3"}
bin=${BIN:-build/frostnas}
out=$(mktemp -d /tmp/frostnas_qat_vs_float.XXXXXX)
trap 'rm -rf "$out"' EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for seed in $seeds; do
  for qat in plain none; do
    "$bin" train --arch "$arch" --data fashion-mnist --train-subset "${SUBSET:-4000}" \
      --val-size 0 --no-test --epochs "${EPOCHS:-1}" --batch-size 128 --lr 0.05 \
      --threads "${THREADS:-2}" --seed "$seed" --qat "$qat" --optimizer "${OPTIMIZER:-qsgd}" \
      --quiet --out "$out/$seed-$qat" >"$out/$seed-$qat.log" 2>&1
  done
  python3 - "$out" "$seed" <<'PY'
import json, sys
out, seed = sys.argv[1], sys.argv[2]
q, f = (json.load(open(f"{out}/{seed}-{a}/metrics.json"))["images_per_second"] for a in ("plain", "none"))
print(f"seed {seed}: QAT {q:.1f} img/s, float {f:.1f} img/s, QAT / float {q / f:.3f}")
PY
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
