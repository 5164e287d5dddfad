#!/usr/bin/env bash
# Installs what the model kit needs: Debian packages, then the ONNX Runtime checker.
# Idempotent: re-running only re-checks. Run as root (or with sudo available).
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(python3-torch python3-torchvision python3-onnx python3-numpy python3-pil
          dataset-fashion-mnist ffmpeg
          # Optimised BLAS for PyTorch's fully connected / LSTM layers: without it Debian falls
          # back to the reference BLAS, which makes training several times slower.
          libopenblas0-pthread
          # The photographs of samples/photos (stage centernet): darknet's example images and
          # scikit-image's sample data.
          darknet python3-skimage
          # The handwritten digits of the out-of-domain sets (stage ood): scikit-learn's bundled copy.
          python3-sklearn
          # Reference encoders and decoders of the formats phones save (phone_formats.py).
          libheif-examples libavif-bin)
ORT_NODE_VERSION=1.30.0
# TF.js (pure-JavaScript CPU backend) runs the original graph of the centernet detector for the
# parity check of its ONNX conversion.
TFJS_VERSION=4.22.0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

$SUDO apt-get update
# Debian has no Python binding of ONNX Runtime today; take it if a later release adds one.
if apt-cache show python3-onnxruntime >/dev/null 2>&1; then
  PACKAGES+=(python3-onnxruntime)
fi
# Node.js and npm run the ONNX Runtime checker below; keep an existing installation
# (a Node.js from another source conflicts with Debian's npm package).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}"

# ONNX Runtime's Node.js binding (CPU build, shipped inside the npm package) runs the exported
# graphs to compare them with PyTorch. --ignore-scripts skips its optional CUDA download step.
ORT_DIR=".work/ort-node"
if [ ! -f "$ORT_DIR/node_modules/onnxruntime-node/package.json" ] ||
   ! grep -q "\"version\": \"$ORT_NODE_VERSION\"" "$ORT_DIR/node_modules/onnxruntime-node/package.json"; then
  mkdir -p "$ORT_DIR"
  npm install --prefix "$ORT_DIR" --no-save --no-package-lock --ignore-scripts --no-audit --no-fund \
    "onnxruntime-node@$ORT_NODE_VERSION"
fi
NODE_PATH="$ORT_DIR/node_modules" node -e \
  "const o=require('onnxruntime-node'); console.log('onnxruntime-node', o.env.versions.node, 'OK')"

TFJS_DIR=".work/tfjs-node"
if [ ! -f "$TFJS_DIR/node_modules/@tensorflow/tfjs-converter/package.json" ] ||
   ! grep -q "\"version\": \"$TFJS_VERSION\"" "$TFJS_DIR/node_modules/@tensorflow/tfjs-converter/package.json"; then
  mkdir -p "$TFJS_DIR"
  npm install --prefix "$TFJS_DIR" --no-save --no-package-lock --ignore-scripts --no-audit --no-fund \
    "@tensorflow/tfjs-core@$TFJS_VERSION" "@tensorflow/tfjs-converter@$TFJS_VERSION" \
    "@tensorflow/tfjs-backend-cpu@$TFJS_VERSION"
fi
NODE_PATH="$TFJS_DIR/node_modules" node -e \
  "const t=require('@tensorflow/tfjs-core'); require('@tensorflow/tfjs-converter'); console.log('tfjs', t.version_core, 'OK')"

/usr/bin/python3 -c "import torch, torchvision, onnx, numpy, PIL; \
print('torch', torch.__version__, '| torchvision', torchvision.__version__, '| onnx', onnx.__version__)"
