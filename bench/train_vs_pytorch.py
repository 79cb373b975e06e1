#!/usr/bin/python3
"""Whole training runs, frostnas against PyTorch eager, paired by seed.

For every seed a seeded subset of the Fashion-MNIST training file is written as IDX files;
on it, one after the other (never two at once):
  - `frostnas train` with the StatAssist + GradBoost schedule (QAT run),
  - `frostnas train --qat none` with the same schedule and the same optimizer (QSGD), run
    right before or right after the QAT run (alternating by seed) so that both see the
    same machine state: frostnas's float throughput,
  - `bench/python/train_pytorch.py`, the same schedule in PyTorch 1.13 eager.
With --ratio-pairs N (default 1) the QAT and float runs are repeated N times per seed, the
order reversed every other pair (QAT float float QAT ...); frostnas runs are deterministic per
seed, so the repeats differ only in timing, and QAT / float is then pooled over them: the
float runs' seconds over the QAT runs' seconds. The first pair alone is printed beside it.
Each process's wall time, user + system CPU time and peak RSS come from wait4(). Printed per
network: per-seed rows, the median throughput ratio frostnas / PyTorch over the whole process
(training images / wall seconds) and over the training loop, CPU utilisation, QAT / float
throughput (over the epochs in which the QAT run fake-quantizes, against the same epochs of
the float run; and over the whole loop), and the paired INT8 accuracy difference (mean, sd,
95 % t interval, exact sign-flip p). Needs python3-torch; the frostnas binary from the build. Run it on an idle
machine with OMP_WAIT_POLICY unset: PASSIVE makes both sides' OpenMP threads sleep at every
barrier and halves both throughputs.

  bench/train_vs_pytorch.py --frostnas build/frostnas \\
      --net proxy=experiments/archs/proxy_default.json:12000 \\
      --net small=frostnet-small-1.0:6000:2000 --seeds 0,1,2 --epochs 2 --threads 2
"""
import argparse
import gzip
import itertools
import json
import math
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FMNIST = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return data[:4 + 4 * ndim], dims, data[4 + 4 * ndim:]


def write_part(out_dir, prefix, n, seed):
    """A seeded subset of n images of the IDX pair `prefix` (train or t10k), as IDX files."""
    import random
    _, dims, pixels = read_idx(os.path.join(FMNIST, prefix + "-images-idx3-ubyte.gz"))
    _, _, labels = read_idx(os.path.join(FMNIST, prefix + "-labels-idx1-ubyte.gz"))
    n = min(n, dims[0])
    idx = sorted(random.Random(seed).sample(range(dims[0]), n))
    size = dims[1] * dims[2]
    with open(os.path.join(out_dir, prefix + "-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, dims[1], dims[2]))
        f.write(b"".join(pixels[i * size:(i + 1) * size] for i in idx))
    with open(os.path.join(out_dir, prefix + "-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x801, n))
        f.write(bytes(labels[i] for i in idx))


def write_subset(out_dir, n, seed, test=10000):
    """Seeded subsets of n training and `test` test images as IDX files in out_dir."""
    os.makedirs(out_dir, exist_ok=True)
    write_part(out_dir, "train", n, seed)
    write_part(out_dir, "t10k", test, seed + 1000)


def run(cmd, env):
    """Runs cmd; returns (stdout, wall seconds, CPU seconds, peak RSS MiB) of that process."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, text=True)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if p.returncode != 0:
            sys.exit(f"train_vs_pytorch: {' '.join(cmd)} failed ({p.returncode}):\n"
                     f"{err.read()[-2000:]}")
        return out.read(), wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0


def frostnas_run(a, arch, data_dir, seed, qat, env):
    out_dir = tempfile.mkdtemp(prefix="fn_run_")
    cmd = [a.frostnas, "train", "--arch", arch, "--data", "fashion-mnist", "--data-dir", data_dir,
           "--val-size", "0", "--epochs", str(a.epochs), "--batch-size", str(a.batch_size),
           "--lr", str(a.lr), "--threads", str(a.threads), "--seed", str(seed),
           "--qat", qat, "--optimizer", "qsgd", "--out", out_dir, "--quiet"]
    _, wall, cpu, rss = run(cmd, env)
    with open(os.path.join(out_dir, "metrics.json")) as f:
        m = json.load(f)
    shutil.rmtree(out_dir, ignore_errors=True)
    return {"wall": wall, "cpu_percent": 100 * cpu / wall, "rss": rss,
            "images": m["images_seen"], "train_s": m["train_seconds"],
            "int8": m["int8_acc"], "qat": m["qat_acc"], "fp32": m["fp32_acc"],
            "epoch_loss": [e["train_loss"] for e in m["epochs"]],
            "epoch_seconds": [e["seconds"] for e in m["epochs"]],
            "epoch_qat": [bool(e["qat_active"]) for e in m["epochs"]],
            "loss_curve": m.get("loss_curve", [])}


def pytorch_run(a, arch_json, data_dir, seed, env):
    cmd = [sys.executable, os.path.join(HERE, "python", "train_pytorch.py"), "--arch", arch_json,
           "--data-dir", data_dir, "--epochs", str(a.epochs), "--batch-size", str(a.batch_size),
           "--lr", str(a.lr), "--threads", str(a.threads), "--seed", str(seed)]
    out, wall, cpu, rss = run(cmd, env)
    m = json.loads(out.strip().splitlines()[-1])
    return {"wall": wall, "cpu_percent": 100 * cpu / wall, "rss": rss,
            "images": m["train_images"], "train_s": m["train_seconds"],
            "int8": m["int8_acc"], "qat": m["qat_acc"], "fp32": m["fp32_acc"],
            "epoch_loss": m["epoch_loss"], "loss_curve": m["loss_curve"]}


def t_quantile_975(df):
    table = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
             9: 2.262, 10: 2.228, 15: 2.131, 20: 2.086, 30: 2.042}
    return table.get(df, 1.96 if df > 30 else table[min(k for k in table if k >= df)])


def paired(diffs):
    """Mean, sd, 95 % t interval and exact two-sided sign-flip p of paired differences."""
    n = len(diffs)
    mean = statistics.mean(diffs)
    sd = statistics.stdev(diffs) if n > 1 else float("nan")
    half = t_quantile_975(n - 1) * sd / math.sqrt(n) if n > 1 else float("nan")
    extreme = sum(1 for signs in itertools.product((1, -1), repeat=n)
                  if abs(sum(s * d for s, d in zip(signs, diffs))) >= abs(sum(diffs)) - 1e-12)
    return mean, sd, (mean - half, mean + half), extreme / 2 ** n


def arch_file(a, arch, tmp):
    """The frostnas.arch/1 JSON of `arch` (a file or a built-in name) at 28x28x1, 10 classes."""
    out = os.path.join(tmp, os.path.basename(arch).replace(".json", "") + ".arch.json")
    shown = subprocess.run([a.frostnas, "arch", "show", arch, "--input-size", "28",
                            "--in-channels", "1", "--classes", "10", "--json"],
                           check=True, stdout=subprocess.PIPE, text=True).stdout
    with open(out, "w") as f:
        json.dump(json.loads(shown)["arch"], f, indent=1)
    return out


def qat_epochs_ratio(pairs):
    """Float seconds over QAT seconds for the epochs in which the QAT run fake-quantized
    (the same epochs, hence the same images, in both runs), summed over the (QAT, float)
    pairs of runs of one seed."""
    idx = [i for i, on in enumerate(pairs[0][0]["epoch_qat"]) if on]
    if not idx:
        return float("nan")
    flt = sum(f["epoch_seconds"][i] for _, f in pairs for i in idx)
    return flt / sum(q["epoch_seconds"][i] for q, _ in pairs for i in idx)


def report(name, rows):
    print(f"\n## {name}")
    print("| seed | run | img/s (run) | img/s (loop) | CPU % | peak MiB | INT8 % | fake-quant % | "
          "FP32 % | epoch losses |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for seed, r in rows:
        for key in ("frostnas", "pytorch", "frostnas_float"):
            x = r[key]
            print(f"| {seed} | {key} | {x['images'] / x['wall']:.1f} | {x['images'] / x['train_s']:.1f} "
                  f"| {x['cpu_percent']:.0f} | {x['rss']:.0f} | {x['int8']:.2f} | {x['qat']:.2f} | "
                  f"{x['fp32']:.2f} | {' '.join(f'{v:.3f}' for v in x['epoch_loss'])} |")
    ratio = [(r["frostnas"]["images"] / r["frostnas"]["wall"]) /
             (r["pytorch"]["images"] / r["pytorch"]["wall"]) for _, r in rows]
    loop = [(r["frostnas"]["images"] / r["frostnas"]["train_s"]) /
            (r["pytorch"]["images"] / r["pytorch"]["train_s"]) for _, r in rows]
    qf = [(r["frostnas"]["images"] / r["frostnas"]["train_s"]) /
          (r["frostnas_float"]["images"] / r["frostnas_float"]["train_s"]) for _, r in rows]
    qf_epochs = [qat_epochs_ratio(r["pairs"][:1]) for _, r in rows]
    qf_pooled = [qat_epochs_ratio(r["pairs"]) for _, r in rows]
    cpu = [r["frostnas"]["cpu_percent"] for _, r in rows]
    diffs = [r["frostnas"]["int8"] - r["pytorch"]["int8"] for _, r in rows]
    mean, sd, ci, p = paired(diffs)
    print(f"\nthroughput frostnas / PyTorch over the whole process: median {statistics.median(ratio):.2f}x "
          f"(per seed {', '.join(f'{v:.2f}' for v in ratio)})")
    print(f"throughput frostnas / PyTorch over the training loop: median {statistics.median(loop):.2f}x")
    print(f"frostnas CPU utilisation: median {statistics.median(cpu):.0f} % of {100 * int(os.environ.get('BENCH_CORES', '2'))}")
    print(f"frostnas QAT / float throughput over the fake-quantized epochs: median "
          f"{statistics.median(qf_epochs):.3f} (per seed {', '.join(f'{v:.3f}' for v in qf_epochs)})")
    if max(len(r["pairs"]) for _, r in rows) > 1:
        print(f"frostnas QAT / float throughput over the fake-quantized epochs, pooled over "
              f"{len(rows[0][1]['pairs'])} pairs of runs per seed: median "
              f"{statistics.median(qf_pooled):.3f} (per seed {', '.join(f'{v:.3f}' for v in qf_pooled)}; "
              f"the line above is the first pair alone)")
    print(f"frostnas QAT / float throughput over the whole training loop: median "
          f"{statistics.median(qf):.3f} (per seed {', '.join(f'{v:.3f}' for v in qf)})")
    print(f"INT8 test accuracy frostnas - PyTorch: mean {mean:+.2f} points, sd {sd:.2f}, "
          f"95 % CI [{ci[0]:+.2f}, {ci[1]:+.2f}], sign-flip p = {p:.3f} (n = {len(diffs)})")
    return {"ratio_run": ratio, "ratio_loop": loop, "qat_over_float": qf,
            "qat_over_float_qat_epochs": qf_epochs,
            "qat_over_float_qat_epochs_pooled": qf_pooled, "cpu": cpu,
            "int8_diff": diffs, "int8_diff_mean": mean, "int8_diff_ci": ci, "p": p}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frostnas", default="build/frostnas")
    p.add_argument("--net", action="append", required=True,
                   help="NAME=ARCH:TRAIN[:TEST] (ARCH a JSON file or a built-in name; TRAIN and "
                        "TEST the sizes of the seeded training and test subsets, TEST 10000 "
                        "by default)")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--ratio-pairs", type=int, default=1,
                   help="QAT and float runs per seed for the QAT / float ratio (order reversed "
                        "every other pair)")
    p.add_argument("--json", help="write every run's figures here")
    a = p.parse_args()
    if a.ratio_pairs < 1:
        p.error(f"--ratio-pairs: {a.ratio_pairs} is not allowed (allowed: an integer >= 1)")
    env = dict(os.environ)
    print(f"OMP_WAIT_POLICY={env.get('OMP_WAIT_POLICY', '(unset)')}")
    seeds = [int(s) for s in a.seeds.split(",")]
    with open("/proc/loadavg") as f:
        print(f"load average before: {f.read().split()[0]}")
    tmp = tempfile.mkdtemp(prefix="train_vs_pytorch_")
    summary = {}
    try:
        for spec in a.net:
            name, rest = spec.split("=", 1)
            arch, _, sizes = rest.partition(":")
            subset, _, test = sizes.partition(":")
            test = int(test or 10000)
            arch_json = arch_file(a, arch, tmp)
            rows = []
            for seed in seeds:
                data_dir = os.path.join(tmp, f"data_{subset}_{seed}")
                write_subset(data_dir, int(subset), seed, test)
                pairs = []
                for k in range(a.ratio_pairs):
                    order = ["statassist", "none"] if (seed + k) % 2 == 0 else ["none", "statassist"]
                    runs = {q: frostnas_run(a, arch_json, data_dir, seed, q, env) for q in order}
                    pairs.append((runs["statassist"], runs["none"]))
                    if k == 0:
                        r = {"frostnas": runs["statassist"], "frostnas_float": runs["none"],
                             "pytorch": pytorch_run(a, arch_json, data_dir, seed, env)}
                r["pairs"] = pairs
                rows.append((seed, r))
                print(f"[{name} seed {seed} done]", file=sys.stderr, flush=True)
            title = f"{name} ({arch}, {subset} training / {test} test images, {a.epochs} epochs)"
            summary[name] = {"rows": rows, "stats": report(title, rows)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open("/proc/loadavg") as f:
        print(f"\nload average after: {f.read().split()[0]}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
