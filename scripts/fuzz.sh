#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/: YAML config loader, IDX reader,
# feature-CSV reader; clang with AddressSanitizer + UBSan) into build-fuzz/
# and runs each for SECONDS (default 20: the CI smoke run; a longer run:
# scripts/fuzz.sh 600). Starts from fuzz/corpus/<target> plus the bad-input
# corpus; what a run finds new is kept in build-fuzz/corpus/<target>.
# Exits non-zero on the first crash, leak, timeout (5 s) or out-of-memory
# (2 GiB), leaving the input in build-fuzz/findings/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ccache_env.sh
launcher=$CCACHE_CMAKE_FLAGS
seconds=${1:-20}
# shellcheck disable=SC2086
CC=clang CXX=clang++ cmake -S fuzz -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $launcher > /dev/null
cmake --build build-fuzz
mkdir -p build-fuzz/findings
for target in config idx feature_csv; do
  work="build-fuzz/corpus/$target"
  mkdir -p "$work"
  seeds=("fuzz/corpus/$target")
  [ -d tests/data/bad ] && seeds+=(tests/data/bad)
  log="build-fuzz/fuzz_$target.log"
  if ! "build-fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix=build-fuzz/findings/ "$work" "${seeds[@]}" > "$log" 2>&1; then
    grep -E "ERROR|SUMMARY|Test unit written" "$log" >&2 || tail -20 "$log" >&2
    echo "fuzz: fuzz_$target found a problem; see $log and build-fuzz/findings/" >&2
    exit 1
  fi
  runs=$(grep -o "stat::number_of_executed_units: [0-9]*" "$log" | grep -o "[0-9]*$")
  echo "fuzz: fuzz_$target: $runs inputs in $seconds s, no crash"
done
