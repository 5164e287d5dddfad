#!/usr/bin/env bash
# Regenerates every model of models/ and every file of samples/ from scratch:
#   training/make-models.sh                 # all stages: lenet fashion-cnn caption samples centernet ood
#   training/make-models.sh caption samples # selected stages
# Seeded and deterministic; prints the time of each stage. CPU only.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-/usr/bin/python3}"   # Debian's Python (has torch), not a pyenv/virtualenv one
# Threads come from PyTorch (OpenMP); a threaded OpenBLAS below it would oversubscribe the cores.
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
exec "$PYTHON" -u -m visionkit "$@"
