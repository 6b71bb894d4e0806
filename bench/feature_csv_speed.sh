#!/usr/bin/env bash
# Times `abmil` reading a large generated feature-bag CSV (a figure, not a
# test: tests/test_feature_csv.cpp checks the values, not the speed).
#
# The CSV has ROWS rows (default 6598 x 166, the size of Musk2, and 10 times
# that) of DIM features in bags of 60 rows, and one bad last row, so that
# `abmil train` reads the whole file, stops on that row with exit code 2 and
# trains nothing. The same run on a two-row file gives the start-up time
# (loading LibTorch), taken off. Median of ROUNDS (default 5) runs each.
#   bench/feature_csv_speed.sh                  # 6598 and 65980 rows
#   ROWS="6598 200000" DIM=230 bench/feature_csv_speed.sh
set -euo pipefail
cd "$(dirname "$0")/.."
abmil=${ABMIL:-build/abmil}
rows_list=${ROWS:-"6598 65980"}
dim=${DIM:-166}
rounds=${ROUNDS:-5}
[[ -x $abmil ]] || { echo "no $abmil: build first (./scripts/build.sh)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# write_csv ROWS FILE: ROWS good rows, then a row with a bad label.
write_csv() {
  awk -v rows="$1" -v dim="$dim" 'BEGIN {
    printf "bag_id,label"; for (j = 1; j <= dim; ++j) printf ",f%d", j; printf "\n"
    for (i = 0; i < rows; ++i) {
      b = int(i / 60); printf "%d,%d", b, b % 2
      for (j = 0; j < dim; ++j) printf ",%d.25", (i * 31 + j * 17) % 1000
      printf "\n"
    }
    printf "last,2"; for (j = 0; j < dim; ++j) printf ",0"; printf "\n"
  }' > "$2"
}

# seconds FILE: median wall seconds of `abmil train` on FILE (which must fail
# on its last line, line ROWS+2).
seconds() {
  local file=$1 expected_line=$2 times=()
  printf 'data: {kind: feature_bags, path: %s}\nruntime: {progress: never}\n' "$file" > "$tmp/cfg.yaml"
  for ((r = 0; r < rounds; ++r)); do
    local start end code=0
    start=$(date +%s.%N)
    "$abmil" train "$tmp/cfg.yaml" --output "$tmp/run" > /dev/null 2> "$tmp/err.txt" || code=$?
    end=$(date +%s.%N)
    if [[ $code != 2 ]] || ! grep -q ":$expected_line: label must be 0 or 1" "$tmp/err.txt"; then
      echo "unexpected result (exit $code): $(cat "$tmp/err.txt")" >&2
      exit 1
    fi
    times+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'
}

write_csv 1 "$tmp/small.csv"
base=$(seconds "$tmp/small.csv" 3)
echo "| rows | features | MB | read seconds (start-up $base s taken off) | MB/s |"
echo "| ---: | ---: | ---: | ---: | ---: |"
for rows in $rows_list; do
  write_csv "$rows" "$tmp/big.csv"
  total=$(seconds "$tmp/big.csv" $((rows + 2)))
  read -r mb secs rate < <(awk -v bytes="$(stat -c %s "$tmp/big.csv")" -v total="$total" -v base="$base" 'BEGIN {
    mb = bytes / 1e6; t = total - base; if (t < 0) t = 0
    printf "%.1f %.3f %.0f\n", mb, t, (t > 0 ? mb / t : 0) }')
  echo "| $rows | $dim | $mb | $secs | $rate |"
done
