#!/bin/sh
# Compile every public header alone, as the first and only include of a C11
# translation unit, with -pedantic -Werror: each header must be
# self-contained and clean. Usage: check-headers.sh INCLUDE_DIR CC [CC_ARGS...]
set -eu
incdir=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for h in "$incdir"/soma.h "$incdir"/soma/*.h; do
    rel=${h#"$incdir"/}
    printf '#include <%s>\nint main(void) { return 0; }\n' "$rel" > "$tmp/t.c"
    if "$@" -std=c11 -Wall -Wextra -pedantic -Werror -I"$incdir" -c "$tmp/t.c" \
        -o "$tmp/t.o"; then
        echo "ok   $rel"
    else
        echo "FAIL $rel"
        status=1
    fi
done
exit $status
