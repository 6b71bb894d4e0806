#!/usr/bin/env bash
# Gets MNIST into DEST (default $ABMIL_DATA/mnist) and verifies it.
#   MNIST_MIRROR=URL datasets/get_mnist.sh [DEST]   download from URL/<file>.gz, then verify
#   datasets/get_mnist.sh --check [DEST]           verify files already there
set -euo pipefail
check_only=0
if [ "${1:-}" = "--check" ]; then check_only=1; shift; fi
dest="${1:-${ABMIL_DATA:?set ABMIL_DATA or give DEST}/mnist}"
declare -A md5=(
  [train-images-idx3-ubyte]=6bbc9ace898e44ae57da46a324031adb
  [train-labels-idx1-ubyte]=a25bea736e30d166cdddb491f175f624
  [t10k-images-idx3-ubyte]=2646ac647ad5339dbf082846283269ea
  [t10k-labels-idx1-ubyte]=27ae3e4e09519cfbb04c329615203637
)
mkdir -p "$dest"
if [ "$check_only" -eq 0 ]; then
  : "${MNIST_MIRROR:?set MNIST_MIRROR to a URL serving the four .gz files}"
  for f in "${!md5[@]}"; do
    [ -f "$dest/$f.gz" ] && continue
    echo "fetching $f.gz"
    curl -fsSL -o "$dest/$f.gz.part" "$MNIST_MIRROR/$f.gz" && mv "$dest/$f.gz.part" "$dest/$f.gz"
  done
fi
status=0
for f in "${!md5[@]}"; do
  if [ -f "$dest/$f.gz" ]; then got=$(gzip -dc "$dest/$f.gz" | md5sum | cut -d' ' -f1)
  elif [ -f "$dest/$f" ]; then got=$(md5sum < "$dest/$f" | cut -d' ' -f1)
  else echo "missing: $dest/$f(.gz)"; status=1; continue; fi
  if [ "$got" = "${md5[$f]}" ]; then echo "ok: $f"; else echo "BAD MD5: $f ($got)"; status=1; fi
done
exit $status
