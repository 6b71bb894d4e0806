#!/usr/bin/env bash
# The same config on the CLAM .h5, CLAM .pt and TRIDENT copies of the planted
# set: trains each for EPOCHS epochs and says whether predictions, attention
# CSVs (without x,y: .pt files have no coordinates) and per-epoch losses and
# metrics are identical to the .h5 run's (exit 1 when one is not).
#   ABMIL_CLAM3=/tmp/clam3 PT=/tmp/clam3_pt TRIDENT=/tmp/clam3_trident/job \
#     experiments/feature_files/check_layouts.sh [CONFIG] [OUT]
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${ABMIL_CLAM3:?the .h5 set (ref_clam_features.py make)}" "${PT:?its .pt copy}" "${TRIDENT:?its TRIDENT job folder}"
config=${1:-experiments/feature_files/clam_planted_3class_mb.yaml}
out=${2:-$(mktemp -d)}
mkdir -p "$out"
epochs=${EPOCHS:-3}
for layout in "h5:$ABMIL_CLAM3" "pt:$PT" "trident:$TRIDENT"; do
  tag=${layout%%:*}
  rm -rf "$out/$tag"
  build/abmil train "$config" --set train.epochs="$epochs" --set data.features="${layout#*:}" --output "$out/$tag" \
    > "$out/$tag.log" 2>&1
done
status=0
same() { if cmp -s "$2" "$3"; then echo "$1: identical"; else echo "$1: DIFFERENT"; status=1; fi; }
for tag in pt trident; do
  same "$tag predictions" "$out/h5/predictions/test.csv" "$out/$tag/predictions/test.csv"
  same "$tag attention (x,y left out)" <(cut -d, -f1-10,13- "$out/h5/attention/test.csv") \
    <(cut -d, -f1-10,13- "$out/$tag/attention/test.csv")
  same "$tag per-epoch losses and metrics" <(cut -d, -f1-9 "$out/h5/metrics.csv") <(cut -d, -f1-9 "$out/$tag/metrics.csv")
done
exit $status
