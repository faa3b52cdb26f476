#!/usr/bin/env python3
"""soma against scikit-learn's MLPClassifier on the CSV files scikit-learn
ships, on the same stratified split (issue 15's target).

For each file and seed, tests/sklearn_compare.c reads the file with soma's
documented options, splits it, trains soma's classifier presets and prints
its test accuracy and the test rows; this script fits MLPClassifier (its
defaults: one hidden layer of 100 relu units, Adam, learning rate 1e-3,
200 iterations, alpha 1e-4) on the same training rows, standardized the
same way, and compares, split by split (paired).

The two agree to within a test row or two on each split, one way or the
other: the noise of 38 to 450 test rows. The test fails when soma is worse
beyond that noise on a file: when the mean of the paired differences
(soma - MLPClassifier) over the seeds is below minus twice its standard
error (a one-sided test at about 2.5%), or below zero when every split
gives the same difference. It prints the table docs/data.md quotes.
Exit 77 (skip) without scikit-learn."""
import json
import os
import statistics
import subprocess
import sys
import warnings

try:
    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler
except ImportError:
    print("scikit-learn is not installed (python3-sklearn): skip")
    sys.exit(77)

DATA = os.environ.get("SOMA_SKLEARN_DATA",
                      "/usr/lib/python3/dist-packages/sklearn/datasets/data")
FILES = [("iris.csv", 1), ("wine_data.csv", 1), ("breast_cancer.csv", 1),
         ("digits.csv.gz", 0)]
SEEDS = list(range(1, 11))
HIDDEN = 100

prog = sys.argv[1]
if not all(os.path.exists(os.path.join(DATA, f)) for f, _ in FILES):
    print(f"scikit-learn's CSV files are not in {DATA}: skip")
    sys.exit(77)

warnings.simplefilter("ignore", ConvergenceWarning)
failed = False
print(f"{'file':<20} {'seed':>4} {'test rows':>9} {'soma':>7} {'sklearn':>7}")
for name, skip in FILES:
    path = os.path.join(DATA, name)
    table = np.loadtxt(path, delimiter=",", skiprows=skip)
    X, y = table[:, :-1], table[:, -1].astype(int)
    ours, theirs = [], []
    for seed in SEEDS:
        out = subprocess.run([prog, path, str(skip), str(seed), str(HIDDEN)],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout)
        assert r["rows"] == len(y) and r["features"] == X.shape[1]
        test = np.array(r["test"], dtype=int)
        train = np.setdiff1d(np.arange(len(y)), test)
        sc = StandardScaler().fit(X[train])
        clf = MLPClassifier(hidden_layer_sizes=(HIDDEN,), random_state=seed)
        clf.fit(sc.transform(X[train]), y[train])
        acc = clf.score(sc.transform(X[test]), y[test])
        ours.append(r["accuracy"])
        theirs.append(acc)
        print(f"{name:<20} {seed:>4} {len(test):>9} {r['accuracy']:>7.4f} {acc:>7.4f}")
    diff = [a - b for a, b in zip(ours, theirs)]
    mean = statistics.mean(diff)
    se = statistics.stdev(diff) / len(diff) ** 0.5
    worse = mean < -2 * se if se > 0 else mean < 0
    wins = sum(d > 0 for d in diff)
    losses = sum(d < 0 for d in diff)
    print(f"{name:<20} {'mean':>4} {'':>9} {statistics.mean(ours):>7.4f} "
          f"{statistics.mean(theirs):>7.4f}  soma better on {wins}, worse on {losses} "
          f"of {len(diff)} splits; mean difference {mean:+.4f} (se {se:.4f}) "
          f"{'WORSE' if worse else 'ok'}")
    failed |= worse
sys.exit(1 if failed else 0)
