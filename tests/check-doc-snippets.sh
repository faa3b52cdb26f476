#!/bin/sh
# Compile and link every ```c block of README.md and docs/*.md against the
# library just built, with -std=c11 -pedantic -Werror: code shown in the
# docs cannot rot. Each such block must be a complete program. A block
# fenced as ```c excerpt quotes a file the build compiles: each of its lines
# (but "..." and comment lines) must appear in examples/*.c.
# Usage: check-doc-snippets.sh SRCDIR LIBDIR CC [CC_ARGS...]
set -eu
src=$1
libdir=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
count=0
for md in "$src"/README.md "$src"/docs/*.md; do
    [ -f "$md" ] || continue
    # Split the file's ```c blocks into block-N.c files.
    rm -f "$tmp"/block-*.c "$tmp"/excerpt-*.txt
    awk -v dir="$tmp" '
        /^```c[ \t]*$/ { n++; out = sprintf("%s/block-%03d.c", dir, n); inblock = 1; next }
        /^```c excerpt[ \t]*$/ { n++; out = sprintf("%s/excerpt-%03d.txt", dir, n); inblock = 1; next }
        /^```/ && inblock { inblock = 0; close(out); next }
        inblock { print > out }
    ' "$md"
    for x in "$tmp"/excerpt-*.txt; do
        [ -f "$x" ] || continue
        count=$((count + 1))
        name="${md#"$src"/}:$(basename "$x" .txt)"
        missing=$(sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' "$x" |
            grep -v -e '^$' -e '^\.\.\.$' -e '^/\*' | while IFS= read -r line; do
                grep -qF -- "$line" "$src"/examples/*.c || printf '%s\n' "$line"
            done)
        if [ -z "$missing" ]; then
            echo "ok   $name (excerpt)"
        else
            echo "FAIL $name: not in examples/: $missing"
            status=1
        fi
    done
    for c in "$tmp"/block-*.c; do
        [ -f "$c" ] || continue
        count=$((count + 1))
        name="${md#"$src"/}:$(basename "$c" .c)"
        if "$@" -std=c11 -Wall -Wextra -pedantic -Werror -I"$src/include" "$c" \
            -o "$tmp/a.out" -L"$libdir" -lsoma -lm; then
            echo "ok   $name"
        else
            echo "FAIL $name"
            status=1
        fi
    done
done
echo "$count code blocks checked"
exit $status
