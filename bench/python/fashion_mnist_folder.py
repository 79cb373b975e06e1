#!/usr/bin/python3
"""Writes Fashion-MNIST (the Debian package dataset-fashion-mnist) as an image folder
that `frostnas train --data folder:OUT` reads: OUT/{train,test}/<NN_class>/<index>.png
(28x28 gray PNG), and optionally the same images as JPEG enlarged to --jpeg-size for
the decoding benchmark (bench/python/decode_vs_pillow.py).

  /usr/bin/python3 bench/python/fashion_mnist_folder.py --out /tmp/fmnist_png
  /usr/bin/python3 bench/python/fashion_mnist_folder.py --out /tmp/fmnist_jpeg \
      --format jpeg --jpeg-size 448 --limit 2000

The class folders carry the IDX label as a two-digit prefix, so that their sorted order
is the IDX label order; files are numbered in IDX order. Needs python3-numpy and
python3-pil (Debian).
"""
import argparse
import gzip
import os

import numpy as np
from PIL import Image

SRC = "/usr/share/datasets/fashion-mnist"
CLASSES = ["T-shirt_top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
           "Sneaker", "Bag", "Ankle_boot"]


def read_idx(path, ndim):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--format", choices=["png", "jpeg"], default="png")
    p.add_argument("--jpeg-size", type=int, default=448, help="JPEG side (enlarged, RGB-tinted)")
    p.add_argument("--limit", type=int, default=0, help="images per split (0: all)")
    a = p.parse_args()
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(f"{SRC}/{prefix}-images-idx3-ubyte.gz", 3)
        labels = read_idx(f"{SRC}/{prefix}-labels-idx1-ubyte.gz", 1)
        n = len(images) if a.limit <= 0 else min(a.limit, len(images))
        for c, name in enumerate(CLASSES):
            os.makedirs(os.path.join(a.out, split, f"{c:02d}_{name}"), exist_ok=True)
        for i in range(n):
            folder = os.path.join(a.out, split, f"{labels[i]:02d}_{CLASSES[labels[i]]}")
            img = Image.fromarray(images[i], mode="L")
            if a.format == "png":
                img.save(os.path.join(folder, f"{i:05d}.png"))
            else:
                # A photo-sized colour image: enlarged, tinted per class, JPEG quality 90.
                big = img.resize((a.jpeg_size, a.jpeg_size), Image.BILINEAR)
                tint = Image.new("RGB", big.size, (40 * (labels[i] % 3), 90, 200))
                rgb = Image.blend(big.convert("RGB"), tint, 0.3)
                rgb.save(os.path.join(folder, f"{i:05d}.jpg"), quality=90)
        print(f"{split}: wrote {n} images to {os.path.join(a.out, split)}")


if __name__ == "__main__":
    main()
