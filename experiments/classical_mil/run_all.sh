#!/usr/bin/env bash
# Every config of configs/ by `abmil cv` (restartable), then results.md; see
# README.md and ../common/run_cv_all.sh.   env: JOBS, ONLY=musk1, ABMIL
exec "$(dirname "$0")/../common/run_cv_all.sh" "$(dirname "$0")" "$@"
