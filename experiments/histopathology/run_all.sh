#!/usr/bin/env bash
# Every config of configs/ by `abmil cv`, one LibTorch thread per worker
# (restartable), then results.md; see README.md and ../common/run_cv_all.sh.
#   env: JOBS, ONLY=gated, ABMIL
exec "$(dirname "$0")/../common/run_cv_all.sh" --set runtime.threads=1 "$(dirname "$0")" "$@"
