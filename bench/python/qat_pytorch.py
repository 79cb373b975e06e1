#!/usr/bin/python3
"""PyTorch eager-mode reference for bench/qat_vs_pytorch.cpp.

Builds the architecture of a frostnas.arch/1 JSON file with eager torch.ao.quantization
(the Frost bottleneck of docs/frostnet.md, "Frost bottleneck": squeeze-and-concatenate
branch, MBConv fallback, depthwise-only EF=1 blocks), then measures
  1. QAT training throughput: SGD (momentum 0.9) steps on random [B, C, H, W] batches after
     prepare_qat (fused Conv-BN-ReLU, FusedMovingAvgObsFakeQuantize), images/second;
  2. INT8 batch-1 latency after convert (engine 'onednn'), median of N runs in ms.
Prints one JSON line. Needs the Debian package python3-torch (1.13).

  /usr/bin/python3 bench/python/qat_pytorch.py --arch experiments/archs/proxy_default.json \
      --threads 2 --batch-size 128 --steps 30 --runs 300
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.ao.quantization as tq


def make_divisible(v, divisor=8, min_value=8):
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def conv_bn(cin, cout, k, stride=1, groups=1, relu=True):
    layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU(inplace=False))
    return nn.Sequential(*layers)


class FrostBlock(nn.Module):
    """One bottleneck: optional squeeze branch concatenated to the input, expansion,
    depthwise, linear projection, residual when shapes allow."""

    def __init__(self, cin, cout, k, ef, rf, stride, btype):
        super().__init__()
        self.squeeze = None
        self.expand = None
        squeeze_ok = btype == "frost" and ef != 1 and rf > 0 and cin // rf >= 8
        if squeeze_ok:
            r = make_divisible(cin // rf)
            self.squeeze = conv_bn(cin, r, 1)
            n = r + cin
            self.cat = nn.quantized.FloatFunctional()
        else:
            n = cin
        hidden = n * ef
        if ef != 1:
            self.expand = conv_bn(n, hidden, 1)
        self.dw = conv_bn(hidden, hidden, k, stride, groups=hidden)
        self.project = conv_bn(hidden, cout, 1, relu=False)
        self.residual = stride == 1 and cin == cout
        if self.residual:
            self.add = nn.quantized.FloatFunctional()

    def forward(self, x):
        y = x
        if self.squeeze is not None:
            y = self.cat.cat([self.squeeze(x), x], dim=1)
        if self.expand is not None:
            y = self.expand(y)
        y = self.project(self.dw(y))
        return self.add.add(y, x) if self.residual else y


class FrostNet(nn.Module):
    def __init__(self, arch):
        super().__init__()
        width = arch["width_mult"]
        stem = arch["stem"]
        cin = make_divisible(stem["channels"] * min(1.0, width))
        self.quant = tq.QuantStub()
        self.stem = conv_bn(arch["in_channels"], cin, stem["kernel"], stem["stride"])
        blocks = []
        for stage in arch["stages"]:
            for b in stage["blocks"]:
                cout = make_divisible(b["out_channels"] * width)
                blocks.append(FrostBlock(cin, cout, b["kernel"], b["expansion"], b["reduction"],
                                         b["stride"], b["type"]))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.head = conv_bn(cin, arch["head"]["channels"], 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(arch["dropout"])
        self.classifier = nn.Conv2d(arch["head"]["channels"], arch["num_classes"], 1, bias=True)
        self.dequant = tq.DeQuantStub()
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        # The classifier as frostnas initialises it (space/frost_net.h, init_classifier).
        bound = 1.0 / math.sqrt(self.classifier.weight[0].numel())
        nn.init.uniform_(self.classifier.weight, -bound, bound)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, x):
        x = self.head(self.blocks(self.stem(self.quant(x))))
        x = self.classifier(self.dropout(self.pool(x)))
        return self.dequant(x).flatten(1)

    def fuse(self):
        seqs = [m for m in self.modules()
                if isinstance(m, nn.Sequential) and len(m) in (2, 3) and isinstance(m[0], nn.Conv2d)]
        for m in seqs:
            names = ["0", "1", "2"] if len(m) == 3 else ["0", "1"]
            tq.fuse_modules_qat(m, [names], inplace=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--arch", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--warmup-steps", type=int, default=5)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--runs", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    with open(a.arch) as f:
        arch = json.load(f)
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    torch.backends.quantized.engine = "onednn"

    model = FrostNet(arch)
    params = sum(p.numel() for p in model.parameters())
    model.train()
    model.fuse()
    # Activations 0..127 as the C++ side (oneDNN without VNNI;
    # docs/frostnet.md, "LibTorch runtime notes").
    act = tq.FusedMovingAvgObsFakeQuantize.with_args(
        observer=tq.MovingAverageMinMaxObserver, quant_min=0, quant_max=127,
        dtype=torch.quint8, qscheme=torch.per_tensor_affine)
    model.qconfig = tq.QConfig(activation=act, weight=tq.default_fused_per_channel_wt_fake_quant)
    tq.prepare_qat(model, inplace=True)

    s, c = arch["input_size"], arch["in_channels"]
    x = torch.randn(a.batch_size, c, s, s)
    y = torch.randint(0, arch["num_classes"], (a.batch_size,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(a.warmup_steps):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    train_s = time.perf_counter() - t0

    model.eval()
    qmodel = tq.convert(model, inplace=False)
    x1 = torch.randn(1, c, s, s)
    times = []
    with torch.no_grad():
        for _ in range(20):
            qmodel(x1)
        for _ in range(a.runs):
            t = time.perf_counter()
            qmodel(x1)
            times.append((time.perf_counter() - t) * 1e3)
    print(json.dumps({
        "params": params,
        "threads": a.threads,
        "batch_size": a.batch_size,
        "train_images_per_second": a.batch_size * a.steps / train_s,
        "train_step_ms": train_s / a.steps * 1e3,
        "int8_latency_ms_median": statistics.median(times),
        "int8_latency_ms_min": min(times),
        "torch_version": torch.__version__,
    }))


if __name__ == "__main__":
    main()
