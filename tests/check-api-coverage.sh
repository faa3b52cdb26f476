#!/bin/sh
# Every public function must have a case in the bad-input matrix.
#
# Lists the functions declared with SOMA_API in the headers that the
# umbrella header includes (the public API of libsoma), asks the compiled
# bad-input test for the cases its table registers (test_badinput --list),
# and fails when a function has no case, a case names no public function, or
# a function has two cases.
# Usage: check-api-coverage.sh INCLUDE_DIR TEST_BADINPUT_EXECUTABLE
set -eu
incdir=$1
badinput=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

headers=$(sed -n 's|^#include "\(soma/[a-z_]*\.h\)".*|\1|p' "$incdir/soma.h")
if [ -z "$headers" ]; then
    echo "no headers found in $incdir/soma.h" >&2
    exit 1
fi

# Comments and preprocessor lines removed (a #define of SOMA_API or a comment
# that mentions it is not a declaration), the header is one string; every
# SOMA_API standing as a word, wherever it is (at the start of a line, alone
# on its line, after another attribute), starts a declaration whose name is
# the identifier just before the next '('.
for h in $headers; do
    awk '
        BEGIN { text = ""; in_comment = 0; continued = 0 }
        {
            line = $0
            if (!in_comment && (continued || line ~ /^[ \t]*#/)) {
                continued = line ~ /\\$/
                next
            }
            out = ""
            while (line != "") {
                if (in_comment) {
                    e = index(line, "*/")
                    if (e == 0) { line = ""; break }
                    line = substr(line, e + 2)
                    in_comment = 0
                    out = out " "
                    continue
                }
                b = index(line, "/*")
                c = index(line, "//")
                if (c > 0 && (b == 0 || c < b)) {
                    out = out substr(line, 1, c - 1)
                    line = ""
                } else if (b > 0) {
                    out = out substr(line, 1, b - 1)
                    line = substr(line, b + 2)
                    in_comment = 1
                } else {
                    out = out line
                    line = ""
                }
            }
            text = text " " out
        }
        END {
            s = text
            while (match(s, /(^|[^A-Za-z0-9_])SOMA_API([^A-Za-z0-9_]|$)/)) {
                s = substr(s, RSTART + RLENGTH - 1)
                p = index(s, "(")
                if (p == 0)
                    break
                n = split(substr(s, 1, p - 1), w, /[^A-Za-z0-9_]+/)
                for (k = n; k >= 1; k--)
                    if (w[k] != "") {
                        print w[k]
                        break
                    }
                s = substr(s, p + 1)
            }
        }' "$incdir/$h"
done | sort -u > "$tmp/api"

# The table as compiled: a case commented out or removed by the
# preprocessor is not listed.
"$badinput" --list > "$tmp/listed"
sort "$tmp/listed" | uniq -d > "$tmp/twice"
sort -u "$tmp/listed" > "$tmp/cases"

n_api=$(wc -l < "$tmp/api")
n_cases=$(wc -l < "$tmp/cases")
echo "public functions: $n_api; bad-input cases: $n_cases"
status=0
# A parse that finds next to nothing must not pass vacuously.
if [ "$n_api" -lt 50 ]; then
    echo "FAIL: only $n_api public functions found; the header parse is broken"
    status=1
fi
missing=$(comm -23 "$tmp/api" "$tmp/cases")
extra=$(comm -13 "$tmp/api" "$tmp/cases")
for f in $missing; do
    echo "FAIL: $f has no API_CASE in $(basename "$badinput")'s table"
    status=1
done
for f in $extra; do
    echo "FAIL: API_CASE($f) names no public function"
    status=1
done
for f in $(cat "$tmp/twice"); do
    echo "FAIL: $f has more than one API_CASE"
    status=1
done
exit $status
