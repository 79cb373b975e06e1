#!/usr/bin/python3
"""PyTorch eager-mode reference for a whole `frostnas train` run (bench/train_vs_pytorch.py).

The same architecture (FrostNet from qat_pytorch.py), the same data files, the same schedule
as `frostnas train`:
  * Fashion-MNIST IDX files from --data-dir, normalised with frostnas's constants, no
    augmentation, reshuffled every epoch, last incomplete batch dropped;
  * weight-decay groups as frostnas: conv/linear weights wd, depthwise weights 0,
    BN parameters and biases wd * 0.01;
  * QSGD (SGD with Nesterov momentum plus GradBoost noise, written from docs/frostnet.md's
    GradBoost description: running min / max of |grad|, noise only after warm-up) or plain SGD;
  * cosine learning rate updated every step over the whole run;
  * --qat statassist: --fp-warmup-epochs in float with the optimizer in warm-up, then
    fuse + prepare_qat on the same parameters and optimizer state; --qat none: float
    training then post-training calibration on 16 batches;
  * at the end: fake-quant test accuracy, INT8 conversion (engine onednn, activations
    0..127 like frostnas) and INT8 test accuracy.
Prints one JSON line: throughput over the training loop and over the whole process, CPU
utilisation (user + system time / wall time), peak RSS, losses, accuracies.

  /usr/bin/python3 bench/python/train_pytorch.py --arch experiments/archs/proxy_default.json \
      --data-dir DIR --epochs 2 --batch-size 128 --lr 0.05 --threads 2 --seed 0
"""
import argparse
import gzip
import json
import math
import os
import resource
import struct
import sys
import time

_T0 = time.perf_counter()

import torch
import torch.nn as nn
import torch.ao.quantization as tq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qat_pytorch import FrostNet  # noqa: E402

MEAN, STD = 0.2860, 0.3530


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    t = torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8)
    return t.reshape(dims)


def load_split(data_dir, prefix):
    def find(name):
        for ext in ("", ".gz"):
            p = os.path.join(data_dir, name + ext)
            if os.path.exists(p):
                return p
        raise SystemExit(f"train_pytorch.py: {data_dir}: no {name}[.gz]")
    x = read_idx(find(prefix + "-images-idx3-ubyte"))
    y = read_idx(find(prefix + "-labels-idx1-ubyte")).long()
    x = ((x.float() / 255.0 - MEAN) / STD).unsqueeze(1).contiguous()
    return x, y


class QSGD(torch.optim.Optimizer):
    """SGD (momentum, Nesterov, L2) whose gradient gets GradBoost noise outside warm-up."""

    def __init__(self, params, lr, momentum=0.9, weight_decay=0.0, nesterov=True, beta=0.9,
                 clip_by=1e-3, toss_coin=True, noise_decay=1e-2):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                                      nesterov=nesterov, beta=beta, clip_by=clip_by,
                                      toss_coin=toss_coin, noise_decay=noise_decay))
        self.warmup = True

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                st = self.state[p]
                if not st:
                    st["step"] = 0
                    st["restart_step"] = 0
                    st["exp_min"] = torch.zeros_like(p)
                    st["exp_max"] = torch.zeros_like(p)
                st["step"] += 1
                beta = g["beta"]
                bc = 1 - beta ** st["step"]
                g_abs = grad.abs()
                new_min = torch.minimum(st["exp_min"], g_abs)
                st["exp_min"].mul_(beta).add_(new_min, alpha=1 - beta).div_(bc)
                new_max = torch.maximum(st["exp_max"], g_abs)
                st["exp_max"].mul_(beta).add_(new_max, alpha=1 - beta).div_(bc)
                if not self.warmup:
                    st["restart_step"] += 1
                    scale = (1 - g["noise_decay"]) ** st["restart_step"]
                    noise = torch.empty_like(grad).exponential_(1.0)
                    noise.mul_((st["exp_max"] - st["exp_min"]) * scale)
                    if g["toss_coin"]:
                        noise.mul_(torch.empty_like(grad).bernoulli_(0.5))
                    noise.mul_(grad.sign())
                    if g["clip_by"] > 0:
                        noise.clamp_(-g["clip_by"], g["clip_by"])
                    grad = grad + noise
                if g["weight_decay"] != 0:
                    grad = grad.add(p, alpha=g["weight_decay"])
                buf = st.get("momentum_buffer")
                if buf is None:
                    buf = st["momentum_buffer"] = grad.clone()
                else:
                    buf.mul_(g["momentum"]).add_(grad)
                d = grad.add(buf, alpha=g["momentum"]) if g["nesterov"] else buf
                p.add_(d, alpha=-g["lr"])


def param_groups(model, wd, other_scale=0.01):
    decay, dw, other = [], [], []
    for m in model.modules():
        for name, p in m.named_parameters(recurse=False):
            if p.dim() != 4:
                other.append(p)
            elif isinstance(m, nn.Conv2d) and m.groups > 1 and p.size(1) == 1:
                dw.append(p)
            else:
                decay.append(p)
    return [dict(params=decay, weight_decay=wd), dict(params=dw, weight_decay=0.0),
            dict(params=other, weight_decay=wd * other_scale)]


def evaluate(model, x, y, batch=256):
    correct = 0
    with torch.no_grad():
        for i in range(0, x.size(0), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return 100.0 * correct / x.size(0)


def qconfig():
    # Activations 0..127 as frostnas on oneDNN.
    act = tq.FusedMovingAvgObsFakeQuantize.with_args(
        observer=tq.MovingAverageMinMaxObserver, quant_min=0, quant_max=127,
        dtype=torch.quint8, qscheme=torch.per_tensor_affine)
    return tq.QConfig(activation=act, weight=tq.default_fused_per_channel_wt_fake_quant)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--arch", required=True)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--fp-warmup-epochs", type=float, default=1.0)
    p.add_argument("--qat", choices=["statassist", "none"], default="statassist")
    p.add_argument("--optimizer", choices=["qsgd", "sgd"], default=None)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--weight-decay", type=float, default=1e-5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--loss-every", type=int, default=10, help="record the loss every N steps")
    a = p.parse_args()
    opt_name = a.optimizer or ("qsgd" if a.qat == "statassist" else "sgd")

    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    torch.backends.quantized.engine = "onednn"
    with open(a.arch) as f:
        arch = json.load(f)
    xtr, ytr = load_split(a.data_dir, "train")
    xte, yte = load_split(a.data_dir, "t10k")

    model = FrostNet(arch)
    model.train()
    model.fuse()  # fused float modules: the same parameters prepare_qat keeps
    groups = param_groups(model, a.weight_decay)
    if opt_name == "qsgd":
        opt = QSGD(groups, lr=a.lr, momentum=0.9, nesterov=True)
    else:
        opt = torch.optim.SGD(groups, lr=a.lr, momentum=0.9, nesterov=True)
    loss_fn = nn.CrossEntropyLoss()
    spe = xtr.size(0) // a.batch_size
    total = spe * a.epochs
    switch = round(a.fp_warmup_epochs * spe) if a.qat == "statassist" else -1
    gen = torch.Generator().manual_seed(a.seed)
    losses, epoch_loss = [], []
    model.qconfig = qconfig()
    step = 0
    t_train = time.perf_counter()
    for epoch in range(a.epochs):
        order = torch.randperm(xtr.size(0), generator=gen)
        run = 0.0
        for i in range(spe):
            if step == switch:
                tq.prepare_qat(model, inplace=True)
                if isinstance(opt, QSGD):
                    opt.warmup = False
            lr = a.lr * 0.5 * (1 + math.cos(math.pi * step / total))
            for g in opt.param_groups:
                g["lr"] = lr
            idx = order[i * a.batch_size:(i + 1) * a.batch_size]
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            v = loss.item()
            run += v
            if step % a.loss_every == 0:
                losses.append([step, v])
            step += 1
        epoch_loss.append(run / spe)
    train_s = time.perf_counter() - t_train

    if a.qat == "none":
        # Post-training quantization: observers see 16 un-augmented training batches.
        tq.prepare_qat(model, inplace=True)
        model.apply(torch.nn.intrinsic.qat.freeze_bn_stats)
        model.apply(tq.disable_fake_quant)
        with torch.no_grad():
            for i in range(16):
                model(xtr[i * 256:(i + 1) * 256])
    model.eval()
    model.apply(tq.disable_observer)
    model.apply(torch.nn.intrinsic.qat.freeze_bn_stats)
    model.apply(tq.disable_fake_quant)
    fp32 = evaluate(model, xte, yte)
    model.apply(tq.enable_fake_quant)
    qat = evaluate(model, xte, yte)
    qmodel = tq.convert(model, inplace=False)
    int8 = evaluate(qmodel, xte, yte)
    wall = time.perf_counter() - _T0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "framework": "pytorch", "torch_version": torch.__version__,
        "params": sum(p.numel() for p in model.parameters()),
        "train_images": spe * a.batch_size * a.epochs, "steps": step,
        "train_seconds": train_s, "wall_seconds": wall,
        "train_images_per_second": spe * a.batch_size * a.epochs / train_s,
        "run_images_per_second": spe * a.batch_size * a.epochs / wall,
        "cpu_percent": 100.0 * (ru.ru_utime + ru.ru_stime) / wall,
        "peak_rss_mib": ru.ru_maxrss / 1024.0,
        "epoch_loss": epoch_loss, "loss_curve": losses,
        "fp32_acc": fp32, "qat_acc": qat, "int8_acc": int8,
    }))


if __name__ == "__main__":
    main()
