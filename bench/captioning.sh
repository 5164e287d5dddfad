#!/usr/bin/env bash
# Caption decoding speed: the service's decoder (ONNX Runtime Java, batched beam search) beside
# PyTorch eager running the same decoder weights, on the same machine in the same run: greedy
# and beam 3, one image per call and a batch per call. Prints one Markdown table.
#   bench/captioning.sh [--seconds 5] [--batch 32] [--threads 1]
# Needs the training kit's Debian packages for the PyTorch side (training/install.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
args=("$@")
echo "| decoder | search | images per call | captions/s | p50 ms per call | p99 ms per call | words per caption | threads |"
echo "|---|---|---|---|---|---|---|---|"
mvn -B -q -pl services/captioning -am install -DskipTests -Dquarkus.build.skip=true >/dev/null
mvn -B -q -pl services/captioning exec:java -Dexec.classpathScope=test \
  -Dexec.mainClass=io.streamvision.captioning.bench.CaptionBenchmark \
  -Dexec.args="--models-dir $PWD/models ${args[*]}" -Dstyle.color=never 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' | grep '^|'
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  (cd training && OPENBLAS_NUM_THREADS=1 /usr/bin/python3 -m visionkit.bench_decoder "${args[@]}")
else
  echo "PyTorch is not installed (training/install.sh installs it); only the service's figures are shown." >&2
fi
