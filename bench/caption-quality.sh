#!/usr/bin/env bash
# Caption quality through the services end to end: the model kit's held-out test scenes (3,000
# by default; test-split Fashion-MNIST items only) are sent as PNG files to the captioning
# service's Caption RPC (which runs the encoder in the scoring service over gRPC), greedy and
# beam 3, and the captions that come back are scored with the kit's metric code and printed
# beside the figures the kit measured in PyTorch (models/caption-decoder/<v>/metrics.json).
#   bench/caption-quality.sh [scenes]
# Needs the kit's Debian packages to write the scenes and score them (training/install.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source-path=SCRIPTDIR source=lib.sh
. bench/lib.sh
count=${1:-3000}
scenes=${VISION_EVAL_DIR:-$HOME/.cache/vision-eval}/scenes-$count
[[ -f services/cli/target/vision.jar ]] || mvn -B -q install -DskipTests
if [[ ! -f "$scenes/manifest.json" ]]; then
  (cd training && /usr/bin/python3 -m visionkit.evaluate scenes "$scenes" --count "$count")
fi
ensure_broker
out=$(mktemp -d)
cleanup() {
  stop_local scoring captioning > /dev/null
  rm -rf "$out"
}
trap cleanup EXIT
deploy/local/services.sh start scoring captioning
for beam in 1 3; do
  t0=$SECONDS
  vision caption --beam "$beam" --json -c 4 --deadline-ms 60000 "$scenes" \
    > "$out/beam$beam.jsonl"
  echo "beam $beam: $(wc -l < "$out/beam$beam.jsonl") captions in $((SECONDS - t0)) s"
done
(cd training && /usr/bin/python3 -m visionkit.evaluate score "$scenes" "$out/beam1.jsonl" "$out/beam3.jsonl")
