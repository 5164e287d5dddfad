#!/usr/bin/env bash
# Builds the reference zoo (random-weight torchvision CNNs exported to ONNX, with fixed
# inputs and PyTorch's outputs) into ${VISION_ZOO_DIR:-$HOME/.cache/vision-zoo}.
#   training/make-zoo.sh                  # every model
#   training/make-zoo.sh resnet50 ...     # some models
#   training/make-zoo.sh --list
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-/usr/bin/python3}"   # Debian's Python (has torch), not a pyenv/virtualenv one
# Threads come from PyTorch (OpenMP); a threaded OpenBLAS below it would oversubscribe the cores.
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
exec "$PYTHON" -u -m visionkit.zoo "$@"
