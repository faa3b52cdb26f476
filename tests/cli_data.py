#!/usr/bin/env python3
"""Data files for the soma program's tests (tests/test_cli.sh).

    cli_data.py blobs OUT.csv N SEED      three Gaussian blobs, labels red/green/blue
    cli_data.py idx IMAGES LABELS N SEED  an IDX pair of 8 x 8 byte images, 2 classes
    cli_data.py wide OUT.csv N SEED       N rows of 20 features, binary labels

Every file is a pure function of its arguments (Python's own generator,
seeded), so a failure can be reproduced.
"""
import gzip
import random
import struct
import sys

# The blobs sit far from the origin (around x = 100, y = 200) with unit
# standard deviation and centres 6 apart: a model that is not given the
# standard scaler fitted at training time sees inputs ~100 standard
# deviations away from what it learnt and cannot classify them.
CENTRES = {"red": (100.0, 200.0), "green": (106.0, 200.0), "blue": (103.0, 205.0)}


def blobs(path, n, seed):
    rng = random.Random(seed)
    names = list(CENTRES)
    with open(path, "w") as f:
        f.write("x,y,colour\n")
        for i in range(n):
            name = names[rng.randrange(3)]
            cx, cy = CENTRES[name]
            f.write("%.6f,%.6f,%s\n" % (rng.gauss(cx, 1), rng.gauss(cy, 1), name))


def idx(images, labels, n, seed):
    """Class 0: the top half brighter; class 1: the bottom half brighter."""
    rng = random.Random(seed)
    pix = bytearray()
    lab = bytearray()
    for _ in range(n):
        c = rng.randrange(2)
        lab.append(c)
        for r in range(8):
            bright = (r < 4) == (c == 0)
            for _ in range(8):
                v = rng.gauss(170 if bright else 85, 40)
                pix.append(max(0, min(255, int(v))))
    img = struct.pack(">BBBBIII", 0, 0, 0x08, 3, n, 8, 8) + bytes(pix)
    lbl = struct.pack(">BBBBI", 0, 0, 0x08, 1, n) + bytes(lab)
    opener = gzip.open if images.endswith(".gz") else open
    with opener(images, "wb") as f:
        f.write(img)
    opener = gzip.open if labels.endswith(".gz") else open
    with opener(labels, "wb") as f:
        f.write(lbl)


def wide(path, n, seed):
    rng = random.Random(seed)
    with open(path, "w") as f:
        for _ in range(n):
            x = [rng.gauss(0, 1) for _ in range(20)]
            f.write(",".join("%.5f" % v for v in x) + ",%d\n" % (sum(x[:5]) > 0))


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "blobs":
        blobs(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif kind == "idx":
        idx(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif kind == "wide":
        wide(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit("unknown kind " + kind)
