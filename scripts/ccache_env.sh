# Sourced by scripts/build.sh, sanitize.sh and fuzz.sh: when ccache is
# installed, compile through it so that a fresh clone (CI) rebuilds only what
# changed. CCACHE_BASEDIR makes paths relative to the repository, so clones
# in other folders share hits; the sloppiness settings let ccache cache the
# precompiled header and the files that include it (a fresh clone's files all
# have new mtimes; CMakeLists.txt adds -fpch-preprocess). Sets
# CCACHE_CMAKE_FLAGS to the CMake flags to add (empty without ccache).
CCACHE_CMAKE_FLAGS=""
if command -v ccache > /dev/null; then
  CCACHE_BASEDIR="$(pwd)"
  CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"
  CCACHE_COMPILERCHECK=content
  CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-8G}"
  export CCACHE_BASEDIR CCACHE_SLOPPINESS CCACHE_COMPILERCHECK CCACHE_MAXSIZE
  CCACHE_CMAKE_FLAGS="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache"
fi
