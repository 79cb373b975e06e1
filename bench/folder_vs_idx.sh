#!/bin/sh
# Fashion-MNIST from the IDX files against the same images as a PNG folder
# (bench/python/fashion_mnist_folder.py): `frostnas train` with the same seed and
# schedule on both; prints INT8 test accuracy and seconds per epoch side by side and
# their ratio. The folder run reads the decoded cache (its first run decodes it, before
# training starts; that time is printed separately).
#
#   ninja -C build frostnas
#   SUBSET=12000 EPOCHS=1 THREADS=2 bench/folder_vs_idx.sh
#
# Environment: BIN (default build/frostnas), FOLDER (default /tmp/fmnist_png, written
# when absent), OUT (default /tmp/frostnas_folder_vs_idx), SUBSET, EPOCHS, THREADS, SEED.
set -eu
BIN=${BIN:-build/frostnas}
FOLDER=${FOLDER:-/tmp/fmnist_png}
OUT=${OUT:-/tmp/frostnas_folder_vs_idx}
SUBSET=${SUBSET:-12000}
EPOCHS=${EPOCHS:-1}
THREADS=${THREADS:-2}
SEED=${SEED:-0}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
PY=/usr/bin/python3
[ -d "$FOLDER/train" ] || $PY "$(dirname "$0")/python/fashion_mnist_folder.py" --out "$FOLDER"
rm -rf "$OUT"
mkdir -p "$OUT"
common="--arch experiments/archs/proxy_default.json --train-subset $SUBSET --epochs $EPOCHS \
--threads $THREADS --seed $SEED --batch-size 128 --lr 0.05 --quiet"
t0=$(date +%s.%N)
$BIN train $common --data fashion-mnist --out "$OUT/idx" >"$OUT/idx.log" 2>&1
t1=$(date +%s.%N)
$BIN train $common --data "folder:$FOLDER" --out "$OUT/folder" >"$OUT/folder.log" 2>&1
t2=$(date +%s.%N)
$PY - "$OUT" "$t0" "$t1" "$t2" <<'PYEOF'
import json, sys
out, t0, t1, t2 = sys.argv[1], *map(float, sys.argv[2:])
rows = []
for name in ("idx", "folder"):
    m = json.load(open(f"{out}/{name}/metrics.json"))
    sec = [e["seconds"] for e in m["epochs"]]
    rows.append((name, m["test"]["int8_acc"], m["val"]["int8_acc"], sum(sec) / len(sec)))
    print(f"{name:7s} INT8 test {m['test']['int8_acc']:.2f} %  val {m['val']['int8_acc']:.2f} %  "
          f"{sum(sec) / len(sec):.1f} s/epoch")
print(f"wall: idx {t1 - t0:.1f} s, folder {t2 - t1:.1f} s (includes loading / decoding)")
print(f"accuracy difference folder - idx: {rows[1][1] - rows[0][1]:+.2f} points; "
      f"epoch time ratio folder / idx: {rows[1][3] / rows[0][3]:.3f}")
PYEOF
grep -h "decod" "$OUT/folder.log" || true
