#!/bin/sh
# Compile and link every ```c block of README.md and docs/*.md against the
# library just built, with -std=c11 -pedantic -Werror: code shown in the
# docs cannot rot. Each such block must be a complete program. A block
# fenced as ```c excerpt quotes a file the build compiles: each of its lines
# (but "..." and comment lines) must appear in examples/*.c. A block fenced
# as ```LANG excerpt PATH (any LANG: c, meson, cmake, ini...) quotes the file
# PATH of the source tree (e.g. the outside projects of tests/consumers/,
# which tests/consumers/run.sh builds): each of its lines (but "..." and
# comment lines: /* in C, # otherwise) must appear in PATH.
# Usage: check-doc-snippets.sh SRCDIR LIBDIR CC [CC_ARGS...]
set -eu
src=$1
libdir=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
count=0
# in_quoted LINE: LINE is in the file the current excerpt quotes ($quoted),
# or in one of examples/*.c when it names none.
in_quoted() {
    if [ -n "$quoted" ]; then
        grep -qF -- "$1" "$src/$quoted"
    else
        grep -qF -- "$1" "$src"/examples/*.c
    fi
}
for md in "$src"/README.md "$src"/docs/*.md; do
    [ -f "$md" ] || continue
    # Split the file's ```c blocks into block-N.c files.
    # An excerpt's language and quoted file go to excerpt-N.info.
    rm -f "$tmp"/block-*.c "$tmp"/excerpt-*.txt "$tmp"/excerpt-*.info
    awk -v dir="$tmp" '
        /^```c[ \t]*$/ { n++; out = sprintf("%s/block-%03d.c", dir, n); inblock = 1; next }
        /^```[a-z]/ && !inblock && $2 == "excerpt" && NF <= 3 {
            n++; out = sprintf("%s/excerpt-%03d.txt", dir, n); inblock = 1
            info = sprintf("%s/excerpt-%03d.info", dir, n)
            print substr($1, 4), $3 > info; close(info)
            printf "" > out
            next
        }
        /^```/ && inblock { inblock = 0; close(out); next }
        inblock { print > out }
    ' "$md"
    for x in "$tmp"/excerpt-*.txt; do
        [ -f "$x" ] || continue
        count=$((count + 1))
        name="${md#"$src"/}:$(basename "$x" .txt)"
        read -r lang quoted < "${x%.txt}.info" || true
        if [ -n "$quoted" ]; then
            where=$quoted
            if [ ! -f "$src/$quoted" ]; then
                echo "FAIL $name: $where does not exist"
                status=1
                continue
            fi
        elif [ "$lang" = c ]; then
            where=examples/
        else
            echo "FAIL $name: a $lang excerpt must name the file it quotes"
            status=1
            continue
        fi
        if [ "$lang" = c ]; then comment='^/\*'; else comment='^#'; fi
        missing=$(sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' "$x" |
            grep -v -e '^$' -e '^\.\.\.$' -e "$comment" | while IFS= read -r line; do
                in_quoted "$line" || printf '%s\n' "$line"
            done)
        if [ -z "$missing" ]; then
            echo "ok   $name (excerpt of $where)"
        else
            echo "FAIL $name: not in $where: $missing"
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
