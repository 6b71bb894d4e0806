#!/usr/bin/env bash
# Installs every Debian package abmil needs. Idempotent: does nothing when all
# are present. Works as root or through sudo.
#   scripts/setup.sh           build, run and test
#   scripts/setup.sh --bench   also what bench/compare_reference.sh runs the
#                              PyTorch reference with (python3-torch, numpy)
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache   # ccache: incremental builds across fresh clones (CI)
  libtorch-dev libgloo-dev          # LibTorch 1.13 (CPU); gloo for its distributed headers
  libopenblas0-openmp               # fast BLAS for LibTorch (reference BLAS otherwise, ~13x slower matmul)
  libopencv-dev libyaml-cpp-dev zlib1g-dev
  libfmt-dev nlohmann-json3-dev libcli11-dev
  libmatio-dev                      # MATLAB .mat files: Colon cancer nucleus coordinates (data/nucleus_coords)
  libhdf5-dev                       # CLAM / TRIDENT feature files (.h5, data/feature_files), HDF5's C++ API
  libopenslide-dev                  # whole-slide images under the attention heatmaps (viz/slide_image)
  libvips-tools                     # vips: the slide-heatmap test makes a pyramidal TIFF
  libgtest-dev googletest
  dataset-fashion-mnist             # real Fashion-MNIST for the default demo, no download
  chromium fonts-dejavu-core        # the report test opens report.html in headless Chromium
  python3-yaml python3-matplotlib   # experiments/: sweep runner, tables and figures
  python3-numpy                     # the embed test reads embeddings.npy with numpy.load
  clang libclang-rt-14-dev          # scripts/fuzz.sh: libFuzzer targets (fuzz/)
)

if [ "${1:-}" = "--bench" ]; then PACKAGES+=(python3-torch python3-h5py); fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
