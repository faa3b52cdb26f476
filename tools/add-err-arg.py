#!/usr/bin/env python3
"""Migrate C sources to the trailing `soma_error_info *err` argument.

Version 0.2 of soma added a last parameter `soma_error_info *err` to the
fallible functions of its model-level headers. This script rewrites calls
written for the old signatures: a call with the old number of arguments gets
`, NULL` appended; with `--decl`, prototypes and definitions with the old
number of parameters get `, soma_error_info *err` appended. Calls that
already have the new arity are left alone, so the script can be run again.

    tools/add-err-arg.py FILE...          # calls only
    tools/add-err-arg.py --decl FILE...   # calls, prototypes and definitions
"""
import re
import sys

# name: number of arguments before the change
OLD_ARITY = {
    # mlp.h
    "soma_mlp_create": 5, "soma_mlp_init_weights": 4, "soma_mlp_get_spec": 2,
    "soma_mlp_layer": 4, "soma_mlp_params": 2, "soma_mlp_grads": 2,
    "soma_mlp_gradient": 5, "soma_mlp_fit": 5, "soma_mlp_predict_proba": 3,
    "soma_mlp_predict": 3, "soma_mlp_evaluate": 5,
    # perceptron.h
    "soma_perceptron_create": 3, "soma_perceptron_fit": 4, "soma_perceptron_predict": 3,
    "soma_perceptron_decision_function": 3, "soma_perceptron_get_weights": 3,
    "soma_perceptron_n_features": 2, "soma_perceptron_history": 3,
    "soma_perceptron_converged": 3,
    # dense.h
    "soma_dense_forward": 4, "soma_dense_backward_dz": 6, "soma_dense_backward": 9,
    # loss.h
    "soma_loss_from_name": 2, "soma_loss_value": 4, "soma_loss_grad": 4,
    "soma_loss_from_logits": 6,
    # activation.h
    "soma_activation_from_name": 2, "soma_activation_forward": 5,
    "soma_activation_backward": 7, "soma_activation_forward_matrix": 4,
    "soma_activation_backward_matrix": 6,
    # data.h
    "soma_make_circles": 8, "soma_make_moons": 7, "soma_make_blobs": 6,
    "soma_make_classification": 5, "soma_scaler_fit": 3, "soma_scaler_transform": 3,
    "soma_scaler_inverse_transform": 3, "soma_train_test_split": 9, "soma_one_hot": 4,
    # metrics.h
    "soma_accuracy": 3, "soma_confusion_matrix": 5, "soma_precision_recall_f1": 8,
    "soma_log_loss": 4,
    # model.h, io.h (writers: the path and strerror of a failed call)
    "soma_mlp_save_buffer": 5, "soma_mlp_save": 3, "soma_perceptron_save_buffer": 4,
    "soma_perceptron_save": 2, "soma_csv_write": 4,
}

NAME_RE = re.compile(r"\b(" + "|".join(sorted(OLD_ARITY, key=len, reverse=True)) + r")\s*\(")
NOT_TYPES = {"return", "sizeof", "else", "case", "do"}


def skip_literal(s, i):
    """Index after the string or char literal starting at s[i]."""
    q = s[i]
    i += 1
    while i < len(s) and s[i] != q:
        i += 2 if s[i] == "\\" else 1
    return i + 1


def arguments(s, open_paren):
    """(index of the closing paren, number of top-level arguments)."""
    depth, i, commas, empty = 0, open_paren, 0, True
    while i < len(s):
        c = s[i]
        if c in "\"'":
            i = skip_literal(s, i)
            empty = False
            continue
        if s.startswith("/*", i):
            i = s.index("*/", i) + 2
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return i, (0 if empty else commas + 1)
        elif c == "," and depth == 1:
            commas += 1
        elif depth >= 1 and not c.isspace() and not (depth == 1 and c == "("):
            empty = False
        i += 1
    return None, 0


def is_declaration(s, start):
    """True when the name at s[start] follows a type: a prototype or definition."""
    j = start - 1
    while j >= 0 and s[j].isspace():
        j -= 1
    if j < 0:
        return False
    if s[j] == "*":
        return True
    if s[j].isalnum() or s[j] == "_":
        k = j
        while k >= 0 and (s[k].isalnum() or s[k] == "_"):
            k -= 1
        return s[k + 1 : j + 1] not in NOT_TYPES
    return False


def rewrite(s, decl):
    out, pos, changes = [], 0, 0
    for m in NAME_RE.finditer(s):
        if m.start() < pos:
            continue
        name = m.group(1)
        close, n = arguments(s, m.end() - 1)
        if close is None or n != OLD_ARITY[name]:
            continue
        declaration = is_declaration(s, m.start())
        if declaration and not decl:
            continue
        if declaration:
            body = s[m.end() : close]
            if re.search(r"soma_error_info", body):
                continue
            # A prototype breaks its long parameter lists over lines: keep
            # the new parameter on the same line; clang-format reflows.
            addition = ", soma_error_info *err"
        else:
            addition = ", NULL"
        out.append(s[pos:close])
        out.append(addition)
        pos = close
        changes += 1
    out.append(s[pos:])
    return "".join(out), changes


def main(argv):
    decl = "--decl" in argv
    files = [a for a in argv if a != "--decl"]
    total = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            s = f.read()
        new, n = rewrite(s, decl)
        if n:
            with open(path, "w", encoding="utf-8") as f:
                f.write(new)
            print(f"{path}: {n}")
            total += n
    print(f"{total} rewritten", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
