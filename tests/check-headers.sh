#!/bin/sh
# Compile every public header alone, as the first and only include of a C11
# translation unit, with -pedantic -Werror: each header must be
# self-contained and clean.
# Usage: check-headers.sh INCLUDE_DIR [--mpi-cflags=FLAGS] CC [CC_ARGS...]
# soma/mpi.h includes <mpi.h>: it is compiled with FLAGS added (MPI's
# include directories) when --mpi-cflags is given, and reported as skipped
# otherwise (a build without the MPI module does not install it).
set -eu
incdir=$1
shift
mpi_cflags=
have_mpi=no
case ${1:-} in
--mpi-cflags=*)
    mpi_cflags=${1#--mpi-cflags=}
    have_mpi=yes
    shift
    ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for h in "$incdir"/soma.h "$incdir"/soma/*.h; do
    rel=${h#"$incdir"/}
    extra=
    if [ "$rel" = soma/mpi.h ]; then
        if [ $have_mpi = no ]; then
            echo "skip $rel (no MPI flags given)"
            continue
        fi
        extra=$mpi_cflags
    fi
    printf '#include <%s>\nint main(void) { return 0; }\n' "$rel" > "$tmp/t.c"
    # shellcheck disable=SC2086
    if "$@" -std=c11 -Wall -Wextra -pedantic -Werror -I"$incdir" $extra -c "$tmp/t.c" \
        -o "$tmp/t.o"; then
        echo "ok   $rel"
    else
        echo "FAIL $rel"
        status=1
    fi
done
exit $status
