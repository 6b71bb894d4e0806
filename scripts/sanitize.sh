#!/usr/bin/env bash
# Builds abmil and its whole test suite with AddressSanitizer and
# UndefinedBehaviorSanitizer (g++, -O1) into build-asan/ and runs ctest there.
# Any sanitizer report fails the test it happens in (halt_on_error, UBSan
# aborts). LibTorch itself is not instrumented; its one-time allocations at
# exit are not reported (detect_leaks=0: they are LibTorch's, not ours).
#   scripts/sanitize.sh            build + all tests
#   scripts/sanitize.sh -R Config  build + the tests matching a ctest regex
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ccache_env.sh
launcher=$CCACHE_CMAKE_FLAGS
flags="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"
# shellcheck disable=SC2086
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $launcher \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DABMIL_REPRODUCE_CHECK=OFF > /dev/null
cmake --build build-asan
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure "$@"
