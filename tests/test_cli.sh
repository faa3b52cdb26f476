#!/bin/sh
# The soma program end to end (meson test suite "cli").
# Usage: test_cli.sh SOMA FIXTURES SRCDIR CASE
#   SOMA      the program to test
#   FIXTURES  tests/cli_fixtures (writes a scaler and a perceptron file)
#   SRCDIR    the source tree (tests/cli_data.py, docs/cli.md)
#   CASE      csv | idx | errors | json | sigint | help
# Exit 0 pass, 1 fail, 77 skip (python3 missing, or a tool the case needs).
set -u
# meson passes the programs relative to the build folder; the cases run in
# a folder of their own.
absolute() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
soma=$(absolute "$1")
fixtures=$(absolute "$2")
src=$(cd "$3" && pwd)
case_name=$4

command -v python3 > /dev/null 2>&1 || { echo "python3 not found: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
data="python3 $src/tests/cli_data.py"
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# expect CODE PATTERN COMMAND...: COMMAND exits with CODE and its standard
# error matches the (grep -E) PATTERN, on one line that starts with "soma: ".
expect() {
    want=$1
    pattern=$2
    shift 2
    "$@" > out.txt 2> err.txt
    got=$?
    if [ "$got" != "$want" ]; then
        fail "'$*' exited with $got, expected $want; stderr: $(cat err.txt)"
    elif [ -n "$pattern" ] && ! grep -Eq -- "$pattern" err.txt; then
        fail "'$*': stderr does not match '$pattern': $(cat err.txt)"
    elif [ "$want" != 0 ] && { [ "$(wc -l < err.txt)" != 1 ] || ! grep -q '^soma: ' err.txt; }; then
        fail "'$*': the error is not one line starting with 'soma: ': $(cat err.txt)"
    else
        echo "ok: exit $got: $*: $(head -n 1 err.txt)"
    fi
}

# accuracy PREDICTED.csv TRUTH.csv: the share of rows where the class of
# PREDICTED (one column after a header) equals the last field of TRUTH.
accuracy() {
    python3 - "$1" "$2" << 'EOF'
import sys
pred = open(sys.argv[1]).read().split("\n")[1:-1]
truth = [l.rsplit(",", 1)[1] for l in open(sys.argv[2]).read().split("\n")[1:-1]]
assert len(pred) == len(truth), (len(pred), len(truth))
print(sum(p == t for p, t in zip(pred, truth)) / len(truth))
EOF
}

# at_least X BOUND WHAT: X >= BOUND.
at_least() {
    if python3 -c "import sys; sys.exit(0 if float('$1') >= float('$2') else 1)"; then
        echo "ok: $3 = $1 >= $2"
    else
        fail "$3 = $1 < $2"
    fi
}

case $case_name in
csv)
    # Three Gaussian blobs named red, green and blue (tests/cli_data.py):
    # separate training and test files, the labels as text.
    $data blobs train.csv 600 1
    $data blobs test.csv 300 2
    expect 0 'saved model.soma' "$soma" train train.csv -o model.soma --epochs 30 --batch 32
    expect 0 '' "$soma" info model.soma
    grep -q 'classes        blue, green, red' out.txt || grep -q 'classes        red, green, blue' out.txt ||
        fail "info does not list the class names: $(cat out.txt)"
    grep -q 'standard scaler fitted on 600 rows' out.txt || fail "info: no standard scaler: $(cat out.txt)"
    grep -q 'command         soma train train.csv -o model.soma --epochs 30 --batch 32' out.txt ||
        fail "info: no command line: $(cat out.txt)"
    # predict on the raw test file: the model applies its own scaler. The
    # centres are 6 standard deviations apart, so the Bayes rate is about
    # 0.997; 0.95 leaves room for a small model and 300 test rows (standard
    # error of the estimate ~0.01). A model that is not trained, predicts
    # one class, or is fed unscaled rows (the blobs sit ~100 standard
    # deviations from the origin) scores about 1/3.
    expect 0 '' "$soma" predict model.soma test.csv -o pred.csv
    head -n 1 pred.csv | grep -qx 'class' || fail "predict: header is not 'class'"
    acc=$(accuracy pred.csv test.csv)
    at_least "$acc" 0.95 "predict accuracy on the test blobs"
    # The same file without its label column gives the same predictions.
    cut -d, -f1,2 test.csv > test-nolabel.csv
    "$soma" predict model.soma test-nolabel.csv > pred2.csv || fail "predict without labels"
    cmp -s pred.csv pred2.csv || fail "predict with and without the label column differ"
    # eval agrees with the accuracy counted here from predict's output.
    expect 0 '' "$soma" eval model.soma test.csv --json
    evacc=$(python3 -c 'import json,sys; print(json.load(open("out.txt"))["accuracy"])')
    python3 -c "import sys; sys.exit(0 if abs($evacc - $acc) < 1e-12 else 1)" ||
        fail "eval accuracy $evacc differs from predict's $acc"
    expect 0 '' "$soma" eval model.soma test.csv
    grep -q '^confusion matrix' out.txt || fail "eval: no confusion matrix"
    grep -Eq '^red +[01]\.[0-9]{4} ' out.txt || fail "eval: no row for class red"
    # A float32 model: the same task, half the memory; info says so and its
    # predictions reach the same bound.
    expect 0 'saved f32.soma' "$soma" train train.csv -o f32.soma --epochs 30 --batch 32 \
        --precision f32
    expect 0 '' "$soma" info f32.soma
    grep -q '^precision      f32' out.txt || fail "info: not a float32 model: $(cat out.txt)"
    expect 0 '' "$soma" predict f32.soma test.csv -o pred32.csv
    acc=$(accuracy pred32.csv test.csv)
    at_least "$acc" 0.95 "predict accuracy of the float32 model"
    # The label column by name, first in the file, ';' between fields, and
    # a validation file: the same classes whatever the order of the columns.
    awk -F, 'BEGIN { OFS = ";" } { print $3, $1, $2 }' train.csv > train-semi.csv
    awk -F, 'BEGIN { OFS = ";" } { print $3, $1, $2 }' test.csv > test-semi.csv
    expect 0 'val_acc' "$soma" train train-semi.csv --delimiter ';' --label-column colour \
        --val-data test-semi.csv -o semi.soma --epochs 5 --batch 32
    expect 0 '' "$soma" predict semi.soma test-semi.csv --delimiter ';' --label-column 1 -o pred3.csv
    acc=$(accuracy pred3.csv test.csv)
    at_least "$acc" 0.95 "predict accuracy, label column first"
    # Probabilities: one column per class, each row sums to 1.
    expect 0 '' "$soma" predict model.soma test.csv --proba -o proba.csv
    python3 - proba.csv << 'EOF' || fail "predict --proba: bad probabilities"
import sys
rows = open(sys.argv[1]).read().split("\n")
assert sorted(rows[0].split(",")) == ["blue", "green", "red"], rows[0]
for r in rows[1:-1]:
    p = [float(v) for v in r.split(",")]
    assert all(0 <= v <= 1 for v in p) and abs(sum(p) - 1) < 1e-4, r
EOF
    ;;
idx)
    # An IDX pair of 8 x 8 byte images (top or bottom half brighter), one
    # file of each pair gzip-compressed when the build reads gzip
    # (CLI_GZIP=1, set by tests/meson.build). The classes differ by 85 grey
    # levels over 32 pixels against a noise of 40: about 15 noise standard
    # deviations for the mean of a half, so any working model is near 1.0
    # and the bound 0.95 only fails for a broken one (chance is 0.5).
    if [ "${CLI_GZIP:-1}" = 1 ]; then z=.gz; else z=; fi
    $data idx train-images-idx3-ubyte$z train-labels-idx1-ubyte 400 3
    $data idx t10k-images-idx3-ubyte t10k-labels-idx1-ubyte$z 200 4
    expect 0 'saved idx.soma' "$soma" train train-images-idx3-ubyte$z --labels train-labels-idx1-ubyte \
        -o idx.soma --epochs 10 --batch 32 --layers 16 --class-names top,bottom
    expect 0 '' "$soma" info idx.soma
    grep -q 'fixed scale: x / 255' out.txt || fail "IDX bytes not scaled by /255: $(cat out.txt)"
    expect 0 '' "$soma" eval idx.soma t10k-images-idx3-ubyte --labels t10k-labels-idx1-ubyte$z --json
    acc=$(python3 -c 'import json; print(json.load(open("out.txt"))["accuracy"])')
    at_least "$acc" 0.95 "eval accuracy on the IDX test pair"
    expect 0 '' "$soma" predict idx.soma t10k-images-idx3-ubyte -o pred.csv
    [ "$(sort -u pred.csv | tr '\n' ' ')" = "bottom class top " ] || fail "predict: not the class names"
    # A truncated IDX file: bad data, with the byte offset.
    head -c 1000 t10k-images-idx3-ubyte > cut-idx3-ubyte
    expect 3 'cut-idx3-ubyte: byte 1000: truncated' "$soma" predict idx.soma cut-idx3-ubyte
    # Labels that do not go with the images.
    expect 3 '200 labels for the 400 items' "$soma" eval idx.soma train-images-idx3-ubyte$z \
        --labels t10k-labels-idx1-ubyte$z
    if [ -z "$z" ]; then
        # Without zlib, gzip input is a feature this build lacks: exit 1.
        gzip -c t10k-images-idx3-ubyte > gz-idx3-ubyte.gz
        expect 1 'gz-idx3-ubyte.gz: .*gunzip' "$soma" predict idx.soma gz-idx3-ubyte.gz
    fi
    ;;
errors)
    $data blobs train.csv 60 1
    "$fixtures" . || { fail "cli_fixtures"; exit 1; }
    "$soma" train train.csv -o model.soma --epochs 1 --quiet || fail "train"
    # bad command lines: exit 2, naming the problem
    expect 2 "unknown option '--bogus'" "$soma" train train.csv --bogus
    expect 2 "did you mean '--epochs'" "$soma" train train.csv --epoch 3
    expect 2 "'--epochs' needs a value" "$soma" train train.csv --epochs
    expect 2 "--lr: expected a number > 0, got 'abc'" "$soma" train train.csv --lr abc
    expect 2 "--epochs: expected a whole number" "$soma" train train.csv --epochs -3
    expect 2 "--dropout: expected a number in \[0, 1\), got '1.5'" "$soma" train train.csv --dropout 1.5
    expect 2 "--optimizer: expected one of sgd, momentum, nesterov, adam" "$soma" train train.csv --optimizer adamw
    expect 2 "--layers: expected widths" "$soma" train train.csv --layers 16,,8
    expect 2 "unknown command 'trian'" "$soma" trian train.csv
    expect 2 "missing DATA" "$soma" train
    expect 2 "expected MODEL and DATA" "$soma" eval model.soma
    expect 2 "not both" "$soma" train train.csv --val 0.2 --val-data train.csv
    expect 2 "no help for 'bogus'" "$soma" help bogus
    expect 2 "--delimiter: '5' cannot separate fields" "$soma" train train.csv --delimiter 5
    expect 2 "--label-column: columns count from 1" "$soma" train train.csv --label-column 0
    # missing files and unwritable outputs: exit 4
    expect 4 "nothere.csv: cannot open: No such file" "$soma" train nothere.csv
    expect 4 "nothere.soma: cannot open: No such file" "$soma" eval nothere.soma train.csv
    expect 4 "nothere.csv: cannot open" "$soma" predict model.soma nothere.csv
    expect 4 "cannot write in folder" "$soma" train train.csv -o no/such/dir/m.soma
    # bad data: exit 3, naming the file and the place
    printf 'x,y,colour\n1.0,2.0,red\n3.0,4x,green\n' > bad.csv
    expect 3 "bad.csv:3:2: .*4x" "$soma" train bad.csv
    expect 3 "scaler.soma: byte [0-9]+: the file holds a scaler" "$soma" info scaler.soma
    expect 3 "perceptron.soma: byte [0-9]+: the file holds a perceptron" "$soma" eval perceptron.soma train.csv
    expect 3 "train.csv: byte 0: not a soma model file" "$soma" info train.csv
    printf 'x,y,colour\n1.0,2.0,purple\n' > purple.csv
    expect 3 "label \"purple\" is not a class of the model" "$soma" eval model.soma purple.csv
    printf 'a,b,c,d\n1,2,3,4\n' > wide.csv
    expect 3 "wide.csv: 3 feature columns, but the model model.soma takes 2" "$soma" predict model.soma wide.csv
    printf 'x,y\n1,0\n2,0\n3,0\n' > one.csv
    expect 3 "nothing to learn with one class" "$soma" train one.csv
    # divergence: exit 5, nothing saved
    # (a regression on unscaled inputs with plain SGD at lr 1: the loss
    # grows a thousandfold per epoch and overflows within a few)
    $data wide wide.csv 200 5
    expect 5 "training diverged" "$soma" train wide.csv -o diverged.soma --task regression \
        --optimizer sgd --lr 1 --scale none --epochs 50 --quiet
    [ ! -e diverged.soma ] || fail "a diverged model was saved"
    ;;
json)
    $data blobs train.csv 300 1
    "$soma" train train.csv -o model.soma --epochs 4 --json > train.jsonl 2> err.txt ||
        fail "train --json: $(cat err.txt)"
    python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]' < train.jsonl ||
        fail "train --json output does not parse"
    python3 - train.jsonl << 'EOF' || fail "train --json: wrong objects"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
epochs = [o for o in objs if o["type"] == "epoch"]
assert [o["epoch"] for o in epochs] == [1, 2, 3, 4], epochs
keys = {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds"}
for o in epochs:
    assert keys <= set(o), o
    assert 0 <= o["accuracy"] <= 1 and o["loss"] > 0 and o["val_loss"] > 0
res = objs[-1]
assert res["type"] == "result" and res["status"] == "ok", res
assert res["epochs_run"] == 4 and res["model"] == "model.soma", res
assert len(objs) == 5
EOF
    # NaN figures are null: regression has no accuracy.
    $data wide reg.csv 200 5
    python3 - reg.csv << 'EOF'
import sys
rows = [l.split(",") for l in open(sys.argv[1]).read().split()]
with open(sys.argv[1], "w") as f:
    for r in rows:
        f.write(",".join(r[:-1]) + ",%.4f\n" % (sum(float(v) for v in r[:5]) + 0.5))
EOF
    "$soma" train reg.csv --epochs 2 --json --quiet > reg.jsonl || fail "train regression"
    python3 - reg.jsonl << 'EOF' || fail "train --json: regression objects"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
assert all(o["accuracy"] is None for o in objs), objs
assert objs[-1]["task"] == "regression" and objs[-1]["model"] is None
EOF
    "$soma" eval model.soma train.csv --json > eval.json || fail "eval --json"
    python3 - eval.json << 'EOF' || fail "eval --json: wrong object"
import json, sys
o = json.load(open(sys.argv[1]))
assert {"loss", "accuracy", "classes", "macro", "confusion", "rows"} <= set(o), o
assert sum(map(sum, o["confusion"])) == o["rows"] == 300
EOF
    "$soma" info model.soma --json > info.json || fail "info --json"
    python3 -c 'import json,sys; o = json.load(sys.stdin); assert o["sizes"] == [2, 256, 128, 3], o' < info.json ||
        fail "info --json: wrong object"
    ;;
sigint)
    # A run far longer than the timeout, interrupted once training is under
    # way: exit 130, then either a complete model (soma info reads it and it
    # says it was interrupted) or, if the signal came before training
    # started, no file; never a partial one, never a temporary file left.
    command -v timeout > /dev/null 2>&1 || { echo "timeout not found: skipped"; exit 77; }
    $data wide big.csv 20000 6
    timeout -s INT --preserve-status 3 "$soma" train big.csv -o run.soma --epochs 100000 \
        --batch 64 > out.txt 2> err.txt
    rc=$?
    [ $rc = 130 ] || fail "interrupted training exited with $rc, not 130: $(cat err.txt)"
    if [ -e run.soma ]; then
        grep -q 'interrupted (Ctrl-C); the model trained so far is saved' err.txt ||
            fail "no message about the saved model: $(cat err.txt)"
        expect 0 '' "$soma" info run.soma
        grep -q 'stop            interrupted' out.txt || fail "info: the run is not marked interrupted"
    else
        echo "note: the signal came before training started: no model file"
    fi
    ls | grep -q 'tmp-' && fail "a temporary file was left: $(ls)"
    ;;
help)
    # The manual pages are the same in the program and in docs/cli.md.
    for cmd in soma train eval predict info; do
        "$soma" help "$cmd" > "help-$cmd.txt" || fail "soma help $cmd"
        [ -s "help-$cmd.txt" ] || fail "soma help $cmd is empty"
        python3 - "help-$cmd.txt" "$src/docs/cli.md" << 'EOF' || fail "docs/cli.md lacks 'soma help $cmd'"
import sys
page = open(sys.argv[1]).read()
md = open(sys.argv[2]).read()
blocks = md.split("```text\n")[1:]
assert any(b.split("```")[0] == page for b in blocks)
EOF
    done
    "$soma" --help > h1.txt && cmp -s h1.txt help-soma.txt || fail "soma --help differs from soma help"
    "$soma" train --help > h2.txt && cmp -s h2.txt help-train.txt || fail "soma train --help differs"
    "$soma" --version | grep -q '^soma [0-9]' || fail "soma --version"
    "$soma" > /dev/null 2> usage.txt
    [ $? = 2 ] && grep -q '^usage: soma train' usage.txt || fail "soma without arguments"
    ;;
*)
    echo "unknown case $case_name"
    exit 1
    ;;
esac

if [ $failures -gt 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all passed"
exit 0
