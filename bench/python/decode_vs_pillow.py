#!/usr/bin/python3
"""JPEG/PNG decoding throughput of frostnas (TurboJPEG / libpng into the decoded cache,
then from the cache) against Pillow decoding and resizing the same files on the same
number of processes, as ratios. Both produce what a training run needs: the shorter
side resized to --size (antialiased bilinear), the centre square cropped, gray or RGB.

  ninja -C build image_decode_bench
  /usr/bin/python3 bench/python/fashion_mnist_folder.py --out /tmp/fmnist_jpeg \
      --format jpeg --jpeg-size 448 --limit 2000
  /usr/bin/python3 bench/python/decode_vs_pillow.py --folder /tmp/fmnist_jpeg --size 64 \
      --channels 3 --threads 2

Pillow runs twice: plain (full decode, then resize) and with Image.draft, Pillow's own
DCT-domain downscaling (the fair comparison for large JPEGs). Each figure is the best of
--repeat runs. Needs python3-pil and python3-numpy (Debian).
"""
import argparse
import json
import os
import subprocess
import time
from multiprocessing import Pool

import numpy as np
from PIL import Image

ARGS = None


def list_files(folder):
    root = os.path.join(folder, "train") if os.path.isdir(os.path.join(folder, "train")) else folder
    files = []
    for cls in sorted(os.listdir(root)):
        d = os.path.join(root, cls)
        if os.path.isdir(d):
            files += [os.path.join(d, f) for f in sorted(os.listdir(d))
                      if f.lower().endswith((".jpg", ".jpeg", ".png"))]
    return files


def pil_decode(path):
    size, mode = ARGS.size, "L" if ARGS.channels == 1 else "RGB"
    im = Image.open(path)
    if ARGS.draft:
        im.draft(mode, (size, size))
    im = im.convert(mode)
    w, h = im.size
    scale = size / min(w, h)
    rw, rh = (size, int(h * size / w)) if w <= h else (int(w * size / h), size)
    im = im.resize((rw, rh), Image.BILINEAR)
    x0, y0 = round((rw - size) / 2), round((rh - size) / 2)
    return int(np.asarray(im.crop((x0, y0, x0 + size, y0 + size)), dtype=np.uint8).sum())


def init(args):
    global ARGS
    ARGS = args


def pillow_rate(files, args):
    best = 0.0
    with Pool(args.threads, initializer=init, initargs=(args,)) as pool:
        for _ in range(args.repeat):
            t = time.perf_counter()
            pool.map(pil_decode, files, chunksize=64)
            best = max(best, len(files) / (time.perf_counter() - t))
    return best


def frostnas_rates(args):
    best = None
    for _ in range(args.repeat):
        out = subprocess.run([args.bin, "--folder", args.folder, "--size", str(args.size),
                              "--channels", str(args.channels), "--threads", str(args.threads)],
                             check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        if best is None or r["cold_images_per_second"] > best["cold_images_per_second"]:
            best = r
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--folder", required=True)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--bin", default="build/bench/image_decode_bench")
    args = p.parse_args()
    files = list_files(args.folder)
    fn = frostnas_rates(args)
    args.draft = False
    plain = pillow_rate(files, args)
    args.draft = True
    draft = pillow_rate(files, args)
    print(f"{len(files)} files, {args.channels}x{args.size}x{args.size}, {args.threads} threads")
    print(f"frostnas cold (decode into the cache): {fn['cold_images_per_second']:9.1f} img/s")
    print(f"Pillow (decode + resize):              {plain:9.1f} img/s   ratio "
          f"{fn['cold_images_per_second'] / plain:.2f}x")
    print(f"Pillow with draft (DCT scaling):       {draft:9.1f} img/s   ratio "
          f"{fn['cold_images_per_second'] / draft:.2f}x")
    print(f"frostnas from the cache:               {fn['cache_images_per_second']:9.1f} img/s   "
          f"ratio {fn['cache_images_per_second'] / draft:.0f}x Pillow with draft")
    print(json.dumps({"files": len(files), "frostnas": fn, "pillow": plain, "pillow_draft": draft}))


if __name__ == "__main__":
    main()
