#!/usr/bin/env bash
# Configures and builds abmil (Release) into ./build with Ninja, through
# ccache when it is installed (scripts/ccache_env.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ccache_env.sh
launcher=$CCACHE_CMAKE_FLAGS
mkdir -p build
# shellcheck disable=SC2086
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release $launcher > build/configure.log 2>&1 || { cat build/configure.log; exit 1; }
cmake --build build -j "$(nproc)"
