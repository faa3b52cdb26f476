#!/bin/sh
# Install what soma needs to build, test and draw on Debian 12 / Ubuntu.
# Runs apt-get directly as root, through sudo otherwise.
set -eu
# libopenblas-openmp-dev: OpenBLAS's OpenMP flavour, whose thread pool soma's
# own loops share (meson option threads=auto picks it when installed).
# cmake: the outside CMake project of tests/consumers (.ci/run).
# python3: the soma program's tests (tests/test_cli.sh) generate their data
# and parse the program's --json output with it (they skip without it).
pkgs="build-essential meson ninja-build pkg-config libopenblas-dev
libopenblas-openmp-dev liblapacke-dev check gnuplot-nox cmake zlib1g-dev locales
python3"
# Real data: Fashion-MNIST as IDX files in /usr/share/datasets/fashion-mnist
# (examples/fashion_mnist.c, the idx-fashion-mnist test). SOMA_WITH_DATA=0
# leaves both out (30 MB and about 100 MB).
# scikit-learn (python3-sklearn) ships the CSV files tests/test_csv.c reads
# as they come (iris, breast cancer, wine, digits) and the MLPClassifier that
# tests/sklearn-compare.py holds soma's classifier presets against.
if [ "${SOMA_WITH_DATA:-1}" = 1 ]; then
    pkgs="$pkgs dataset-fashion-mnist python3-sklearn"
fi
if [ "${SOMA_WITH_MPI:-1}" = 1 ]; then
    pkgs="$pkgs openmpi-bin libopenmpi-dev"
fi
# The robustness checks of .ci/run (docs/robustness.md): clang with its
# sanitizer and libFuzzer runtimes (libclang-rt-14-dev, not pulled in by
# clang without recommends) for the ASan/UBSan, TSan and fuzzing builds, and
# valgrind for the memcheck run; libomp-dev (LLVM's OpenMP runtime, with the
# Archer tool that tells ThreadSanitizer about OpenMP's synchronisation) for
# the TSan build of soma's parallel loops. SOMA_WITH_ROBUSTNESS=0 leaves them
# out.
if [ "${SOMA_WITH_ROBUSTNESS:-1}" = 1 ]; then
    pkgs="$pkgs clang libclang-rt-14-dev libomp-dev valgrind"
fi
if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# shellcheck disable=SC2086
$sudo apt-get install -y -q --no-install-recommends $pkgs

# A decimal-comma locale for the CSV locale tests (tests/test_csv.c,
# tests/test_threads.c), which report SKIP without one. Debian's locale-gen
# builds what /etc/locale.gen enables (and ignores the argument); Ubuntu's
# takes the locale as its argument.
if [ -f /etc/locale.gen ] && ! grep -q '^de_DE.UTF-8 UTF-8' /etc/locale.gen; then
    $sudo sed -i 's/^# *\(de_DE.UTF-8 UTF-8\)/\1/' /etc/locale.gen
    grep -q '^de_DE.UTF-8 UTF-8' /etc/locale.gen ||
        echo 'de_DE.UTF-8 UTF-8' | $sudo tee -a /etc/locale.gen > /dev/null
fi
$sudo locale-gen de_DE.UTF-8
