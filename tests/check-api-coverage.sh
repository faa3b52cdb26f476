#!/bin/sh
# Every public function must have a case in the bad-input matrix.
#
# Lists the functions declared with SOMA_API in the headers that the
# umbrella header includes (the public API of libsoma), lists the
# API_CASE(...) entries of the bad-input test, and fails when a function
# has no case or a case names no public function.
# Usage: check-api-coverage.sh INCLUDE_DIR TEST_SOURCE
set -eu
incdir=$1
source=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

headers=$(sed -n 's|^#include "\(soma/[a-z_]*\.h\)".*|\1|p' "$incdir/soma.h")
if [ -z "$headers" ]; then
    echo "no headers found in $incdir/soma.h" >&2
    exit 1
fi

# The identifier just before the first '(' after a SOMA_API that starts a
# line (a declaration), across lines; preprocessor lines and comments that
# mention SOMA_API mid-line are not declarations.
for h in $headers; do
    awk '
        /^[ \t]*#/ { next }
        {
            if (!collecting) {
                if ($0 !~ /^[ \t]*SOMA_API[ \t]/)
                    next
                i = index($0, "SOMA_API")
                buf = substr($0, i + 8)
                collecting = 1
            } else {
                buf = buf " " $0
            }
            p = index(buf, "(")
            if (p == 0)
                next
            n = split(substr(buf, 1, p - 1), w, /[^A-Za-z0-9_]+/)
            for (k = n; k >= 1; k--)
                if (w[k] != "") {
                    print w[k]
                    break
                }
            collecting = 0
        }' "$incdir/$h"
done | sort -u > "$tmp/api"

awk '{
    s = $0
    while (match(s, /API_CASE\(soma_[a-z0-9_]*\)/)) {
        print substr(s, RSTART + 9, RLENGTH - 10)
        s = substr(s, RSTART + RLENGTH)
    }
}' "$source" | sort -u > "$tmp/cases"

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
    echo "FAIL: $f has no API_CASE in $(basename "$source")"
    status=1
done
for f in $extra; do
    echo "FAIL: API_CASE($f) names no public function"
    status=1
done
exit $status
