#!/usr/bin/env bash
# Bulk video classification at scale: N copies of the sample video (default 50) submitted at
# once through the running pipeline (Kafka -> preprocess -> scoring -> video summaries), frames/s
# end to end, beside the decode-only rate (FFmpeg through JavaCV, this machine) and the
# scoring-only rate (raw ONNX Runtime, fashion-cnn) measured in the same run.
#   bench/videos.sh [copies] [every-n-frames]
# Starts the local broker and the services when they are not running, and stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
copies=${1:-50}
every=${2:-5}
[[ -f services/cli/target/vision.jar ]] || mvn -B -q install -DskipTests
started_kafka=false
if ! deploy/local/kafka.sh status > /dev/null 2>&1; then deploy/local/kafka.sh start; started_kafka=true; fi
cleanup() {
  deploy/local/services.sh stop > /dev/null || true
  if $started_kafka; then deploy/local/kafka.sh stop > /dev/null || true; fi
}
trap cleanup EXIT
deploy/local/services.sh start preprocess scoring captioning

echo "== End to end: $copies copies of samples/video.mp4 (500 frames, 20 s), every $every frames"
# One warm-up video so that start-up costs (JIT, first transactions) stay out of the figure.
java -jar services/cli/target/vision.jar submit-videos --every "$every" --no-progress samples/video.mp4 > /dev/null
java -jar services/cli/target/vision.jar submit-videos --every "$every" --repeat "$copies" --no-progress --json \
  samples/video.mp4 > "${TMPDIR:-/tmp}/video-summaries.jsonl"
echo "summaries: ${TMPDIR:-/tmp}/video-summaries.jsonl ($(grep -c '"COMPLETE"' "${TMPDIR:-/tmp}/video-summaries.jsonl") COMPLETE)"
deploy/local/services.sh stop > /dev/null

echo "== Decode only: JavaCV FFmpeg, every frame of the sample video (the pipeline decodes every frame too)"
mvn -B -q -pl services/common exec:java -Dexec.classpathScope=test \
  -Dexec.mainClass=io.streamvision.video.bench.VideoBenchmark -Dexec.args="$PWD/samples/video.mp4 10"
echo "== Scoring only: raw ONNX Runtime, fashion-cnn, batch 64"
mvn -B -q -pl services/scoring exec:java -Dexec.classpathScope=test \
  -Dexec.mainClass=io.streamvision.scoring.bench.ScoringBenchmark \
  -Dexec.args="--models-dir $PWD/models --model fashion-cnn --batch 64 --seconds 10 --ceiling-only true"
