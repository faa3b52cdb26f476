#!/bin/sh
# Build and run the outside projects of tests/consumers/ every way a user
# gets soma (README "Using soma from your build"):
#   1. meson, soma as a subproject: subprojects/soma.wrap plus a symlink to
#      this tree, configured with -Dsoma:gemm=naive. The program must report
#      the naive backend (the option reached soma), and soma's tests,
#      examples and bench must not be part of the parent's build;
#   2. meson, the installed soma through pkg-config;
#   3. CMake, find_package(soma CONFIG) with CMAKE_PREFIX_PATH, on a copy of
#      the installed tree at another path (the package is relocatable: the
#      program must link the copy's library, nothing of the original prefix);
#   4. CMake, pkg_check_modules with PKG_CONFIG_PATH.
# When the MPI module is installed (soma-mpi.pc), each way also builds the
# program on soma-mpi and runs it on 2 ranks.
# Any failure (a missing meson.override_dependency, a broken soma::soma
# target, a wrong result) ends the script with status 1 and the log.
# Usage: run.sh PREFIX    (where `meson install` put soma)
set -eu
if [ $# -ne 1 ] || [ ! -d "$1" ]; then
    echo "usage: $0 PREFIX (an existing directory where soma is installed)" >&2
    exit 2
fi
prefix=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Nothing from the caller's environment decides where soma is found.
unset PKG_CONFIG_PATH CMAKE_PREFIX_PATH soma_DIR

pc=$(find "$prefix" -name soma.pc | head -n 1)
if [ -z "$pc" ]; then
    echo "no soma.pc under $prefix: is soma installed there?" >&2
    exit 2
fi
pcdir=$(dirname "$pc")
version=$(PKG_CONFIG_PATH=$pcdir pkg-config --modversion soma)
if [ -f "$pcdir/soma-mpi.pc" ]; then mpi=1; else mpi=0; fi
echo "soma $version in $prefix (MPI module: $([ $mpi = 1 ] && echo yes || echo no))"

# run LOG COMMAND...: the command's output goes to LOG, shown if it fails.
run() {
    log=$1
    shift
    if ! "$@" > "$log" 2>&1; then
        echo "FAIL: $*"
        tail -n 60 "$log"
        exit 1
    fi
}

# check_output LABEL PROGRAM BACKEND: the program runs, prints the product
# and the installed version, with BACKEND (a name, or "" for any).
check_output() {
    out=$("$2" 2>&1) || { echo "FAIL: $1: $2 exited with an error: $out"; exit 1; }
    backend=${3:-*}
    # shellcheck disable=SC2027,SC2254 # $backend unquoted: "*" matches any name
    case "$out" in
        "soma $version, backend "$backend": A B = 58 64 139 154") ;;
        *)
            echo "FAIL: $1: unexpected output: $out"
            echo "      expected: soma $version, backend ${3:-<any>}: A B = 58 64 139 154"
            exit 1
            ;;
    esac
    echo "ok   $1: $out"
}

# check_mpi LABEL PROGRAM: the MPI program on 2 ranks.
check_mpi() {
    [ $mpi = 1 ] || return 0
    out=$("$src/tests/mpi/run-mpi.sh" 2 "$2" 2>&1) ||
        { echo "FAIL: $1: $2 on 2 ranks: $out"; exit 1; }
    got=$(printf '%s\n' "$out" | grep '^soma-mpi: ' | sort)
    want=$(printf 'soma-mpi: rank 0 of 2: rows 0 to 4\nsoma-mpi: rank 1 of 2: rows 5 to 9')
    if [ "$got" != "$want" ]; then
        echo "FAIL: $1: unexpected output on 2 ranks: $out"
        exit 1
    fi
    echo "ok   $1: 2 ranks"
}

if [ $mpi = 1 ]; then meson_mpi=enabled; cmake_mpi=ON; else meson_mpi=disabled; cmake_mpi=OFF; fi

# ---- 1. meson, soma as a subproject ------------------------------------------
d=$tmp/meson-subproject
mkdir -p "$d"
cp -R "$here/meson/." "$d/"
ln -s "$src" "$d/subprojects/soma"
# --force-fallback-for: the subproject even if a soma is installed system-wide.
run "$tmp/meson-sub.log" meson setup "$d/build" "$d" --force-fallback-for=soma \
    -Dsoma:gemm=naive -Dmpi=$meson_mpi
run "$tmp/meson-sub-compile.log" meson compile -C "$d/build"
# The parent builds soma's libraries only: its extras are off in a subproject.
run "$tmp/meson-sub-targets.log" meson introspect --targets "$d/build"
extras=$(python3 -c '
import json, sys
libs = {"soma", "soma-mpi", "soma_naive"}
for t in json.load(open(sys.argv[1])):
    if t["subproject"] == "soma" and (t["name"] not in libs or
                                      (t["name"] == "soma_naive" and t["build_by_default"])):
        print(t["name"])
' "$tmp/meson-sub-targets.log")
if [ -n "$extras" ]; then
    echo "FAIL: meson subproject: the parent builds soma's" "$extras"
    exit 1
fi
check_output "meson subproject (-Dsoma:gemm=naive)" "$d/build/consumer" naive
check_mpi "meson subproject, soma-mpi" "$d/build/consumer-mpi"

# ---- 2. meson, installed soma through pkg-config ------------------------------
d=$tmp/meson-pkgconfig
mkdir -p "$d"
cp "$here/meson/meson.build" "$here/meson/meson_options.txt" "$here/meson/"*.c "$d/"
run "$tmp/meson-pc.log" env PKG_CONFIG_PATH="$pcdir" meson setup "$d/build" "$d" \
    --wrap-mode=nofallback -Dmpi=$meson_mpi
run "$tmp/meson-pc-compile.log" meson compile -C "$d/build"
check_output "meson, pkg-config" "$d/build/consumer" ""
check_mpi "meson, pkg-config, soma-mpi" "$d/build/consumer-mpi"

# ---- 3. CMake, find_package(soma CONFIG), relocated prefix -------------------
moved=$tmp/moved-prefix
cp -R "$prefix" "$moved"
b=$tmp/cmake-config
run "$tmp/cmake-config.log" cmake -G Ninja -S "$here/cmake" -B "$b" \
    -DCMAKE_PREFIX_PATH="$moved" -DWITH_MPI=$cmake_mpi
run "$tmp/cmake-config-build.log" cmake --build "$b"
soma_dir=$(sed -n 's/^soma_DIR:PATH=//p' "$b/CMakeCache.txt")
case "$soma_dir" in
    "$moved"/*) ;;
    *) echo "FAIL: CMake found soma's package in '$soma_dir', not under $moved"; exit 1 ;;
esac
if grep -qF "$prefix/" "$b/build.ninja" || ! grep -qF "$moved/" "$b/build.ninja"; then
    echo "FAIL: CMake package: the programs do not link the relocated copy's libraries"
    grep -nF -e "$prefix/" -e "$moved/" "$b/build.ninja" | head -n 10
    exit 1
fi
check_output "CMake, find_package(soma CONFIG)" "$b/consumer" ""
check_mpi "CMake, find_package(soma CONFIG COMPONENTS mpi)" "$b/consumer-mpi"

# ---- 4. CMake, pkg-config -------------------------------------------------------
b=$tmp/cmake-pkgconfig
run "$tmp/cmake-pc.log" env PKG_CONFIG_PATH="$pcdir" cmake -G Ninja -S "$here/cmake" -B "$b" \
    -DUSE_PKGCONFIG=ON -DWITH_MPI=$cmake_mpi
run "$tmp/cmake-pc-build.log" cmake --build "$b"
check_output "CMake, pkg_check_modules" "$b/consumer" ""
check_mpi "CMake, pkg_check_modules soma-mpi" "$b/consumer-mpi"

echo "all consumer builds ok"
