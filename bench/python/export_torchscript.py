#!/usr/bin/python3
"""The INT8 TorchScript export in Python (Debian python3-torch 1.13) against frostnas.

Loads `frostnas export-model --format torchscript` output with torch.jit.load after setting
the quantized engine named in the archive's extra file 'engine', runs the first --count
inputs that bench/export_check wrote (--dump DIR) in its batch size and compares the logits
with frostnas's Int8Net logits bit for bit; then batch-1 latency of the module against
`frostnas eval` (its median over --runs, same thread count), alternated twice, as a ratio.
Prints one JSON line.

  /usr/bin/python3 bench/python/export_torchscript.py --torchscript /tmp/m.pt --dump /tmp/export_check \
      --model RUN --frostnas build/frostnas [--count 1000 --threads 1 --runs 300]
"""
import argparse
import json
import os
import statistics
import subprocess
import time
import zipfile

import numpy as np
import torch


def archive_extra(path, name):
    """An extra file of a TorchScript archive, read before the module is loaded."""
    with zipfile.ZipFile(path) as z:
        for entry in z.namelist():
            if entry.endswith("/extra/" + name):
                return z.read(entry).decode()
    raise SystemExit(f"{path}: no extra file '{name}'")


def frostnas_latency(args):
    out = subprocess.run(
        [args.frostnas, "eval", "--model", args.model, "--data", args.data, "--threads",
         str(args.threads), "--runs", str(args.runs), "--json"],
        check=True, capture_output=True, text=True).stdout
    return json.loads(out)["latency_ms_median"]


def python_latency(model, x, runs):
    with torch.inference_mode():
        for _ in range(20):
            model(x)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--torchscript", required=True)
    p.add_argument("--dump", required=True, help="bench/export_check --dump directory")
    p.add_argument("--model", required=True, help="the model directory (for frostnas eval)")
    p.add_argument("--frostnas", default="build/frostnas")
    p.add_argument("--data", default="fashion-mnist")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=300)
    args = p.parse_args()

    engine = archive_extra(args.torchscript, "engine")
    torch.backends.quantized.engine = engine  # before loading: the weights are packed then
    torch.set_num_threads(args.threads)
    model = torch.jit.load(args.torchscript)
    meta = json.load(open(os.path.join(args.dump, "meta.json")))
    shape = meta["shape"]
    inputs = torch.from_numpy(
        np.fromfile(os.path.join(args.dump, "inputs.f32"), dtype=np.float32).reshape(shape))
    logits = torch.from_numpy(
        np.fromfile(os.path.join(args.dump, "logits.f32"), dtype=np.float32).reshape(
            shape[0], meta["classes"]))
    n = min(args.count, shape[0])
    batch = meta["batch_size"]
    with torch.inference_mode():
        y = torch.cat([model(inputs[i:min(i + batch, n)]) for i in range(0, n, batch)])
    identical = int((y == logits[:n]).all(1).sum())
    max_diff = float((y - logits[:n]).abs().max())

    x1 = inputs[:1].clone()
    # Timed on a module loaded afresh: oneDNN keeps each conv's primitive for the first input
    # shape it sees, so the module that ran the batches above is slower at batch 1.
    model = torch.jit.load(args.torchscript)
    py, fn = [], []
    for _ in range(2):
        fn.append(frostnas_latency(args))
        py.append(python_latency(model, x1, args.runs))
    py_ms, fn_ms = statistics.mean(py), statistics.mean(fn)
    print(json.dumps({
        "torch": torch.__version__, "engine": engine, "images": n,
        "bit_identical_rows": identical, "max_abs_diff": max_diff,
        "threads": args.threads, "python_ms": round(py_ms, 4), "frostnas_eval_ms": round(fn_ms, 4),
        "python_over_frostnas": round(py_ms / fn_ms, 3),
        "loadavg": open("/proc/loadavg").read().split()[:3]}))


if __name__ == "__main__":
    main()
