#!/bin/sh
# Install what soma needs to build, test and draw on Debian 12 / Ubuntu.
# Runs apt-get directly as root, through sudo otherwise.
set -eu
pkgs="build-essential meson ninja-build pkg-config libopenblas-dev liblapacke-dev
check gnuplot-nox"
if [ "${SOMA_WITH_MPI:-1}" = 1 ]; then
    pkgs="$pkgs openmpi-bin libopenmpi-dev"
fi
if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# shellcheck disable=SC2086
$sudo apt-get install -y -q --no-install-recommends $pkgs
