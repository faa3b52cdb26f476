#!/bin/sh
# Run a test program on NP MPI processes of this machine.
# Usage: run-mpi.sh NP PROGRAM [ARGS...]; exit 77 (meson: skipped) when no
# mpirun/mpiexec is installed. Open MPI gets --oversubscribe (more ranks
# than cores is the point of the 3- and 4-rank runs on small machines) and
# --allow-run-as-root (CI containers run as root).
set -eu
np=$1
shift
if command -v mpirun >/dev/null 2>&1; then
    launcher=mpirun
elif command -v mpiexec >/dev/null 2>&1; then
    launcher=mpiexec
else
    echo "no mpirun or mpiexec: skipped"
    exit 77
fi
if "$launcher" --version 2>&1 | grep -q "Open MPI"; then
    exec "$launcher" --allow-run-as-root --oversubscribe -np "$np" "$@"
fi
exec "$launcher" -n "$np" "$@"
