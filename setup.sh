#!/usr/bin/env bash
# frostnas set-up on Debian 12, as root: installs the Debian packages that are
# missing, configures and builds (Release, Ninja, ccache + a shared LibTorch PCH),
# then runs the main job (`./setup.sh run`) or the tests (`./setup.sh test`).
# Idempotent: installed packages and an existing build are reused.
#
#   ./setup.sh run     install, build, run the main job on its embedded defaults
#   ./setup.sh test    install, build, run every test with ctest
#   ./setup.sh build   install and build only
set -euo pipefail
cd "$(dirname "$0")"

mode=${1:-run}
case "$mode" in
  run | test | build) ;;
  *)
    echo "setup.sh: error: unknown mode \"$mode\" (allowed: run, test, build)" >&2
    exit 2
    ;;
esac

packages=(g++ cmake ninja-build ccache pkg-config
  libtorch-dev libopenblas0-pthread
  libsqlitecpp-dev libsqlite3-dev nlohmann-json3-dev libboost-program-options-dev
  libgtest-dev zlib1g-dev dataset-fashion-mnist
  libonnx-dev libprotobuf-dev libturbojpeg0-dev libpng-dev
  libopenmpi-dev openmpi-bin)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ccache hits with the precompiled header only with these settings.
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
build_dir=${FROSTNAS_BUILD_DIR:-build}
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
jobs=$(nproc)

case "$mode" in
  build)
    cmake --build "$build_dir" -j "$jobs"
    ;;
  run)
    cmake --build "$build_dir" -j "$jobs" --target frostnas
    # Main job: an RL search over the proxy space on Fashion-MNIST with an INT8
    # latency target; the latency table is measured on the way.
    "$build_dir/frostnas" search --config experiments/quickstart.json --db runs/frostnas.sqlite
    ;;
  test)
    cmake --build "$build_dir" -j "$jobs"
    ctest --test-dir "$build_dir" --output-on-failure -j "$jobs"
    ;;
esac
