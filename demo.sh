#!/usr/bin/env bash
# The whole system on this machine: builds what is missing, starts a local Kafka broker and the
# three services as separate processes, streams the sample images and the sample video through
# Kafka, makes one Classify and one Caption call over gRPC, prints a report and stops
# everything it started.
#
#   ./demo.sh          run the demo and clean up
#   ./demo.sh --keep   leave the broker and the services running and print their addresses
#
# Needs a JDK 17+ and Maven; nothing else (Kafka and FFmpeg come from Maven Central).
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source-path=SCRIPTDIR source=bench/lib.sh
. bench/lib.sh   # ports and topics (deploy/local/env.sh), ensure_broker, stop_local, vision
keep=false
[[ "${1:-}" == "--keep" ]] && keep=true

start_time=$SECONDS
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

jars=(services/preprocess/target/quarkus-app/quarkus-run.jar services/scoring/target/quarkus-app/quarkus-run.jar
      services/captioning/target/quarkus-app/quarkus-run.jar services/cli/target/vision.jar)
missing=false
for jar in "${jars[@]}"; do [[ -f "$jar" ]] || missing=true; done
if $missing; then
  say "Building (first run: Maven downloads the dependencies)"
  mvn -B -q install -DskipTests
fi

cleanup() {
  if ! $keep; then
    say "Stopping"
    stop_local preprocess scoring captioning
  fi
}
trap cleanup EXIT

say "Starting Kafka (KRaft, single node) on localhost:$KAFKA_PORT"
ensure_broker
$started_kafka || echo "already running"

say "Starting preprocess, scoring and captioning"
deploy/local/services.sh start
echo "Warming up: the first images through a fresh pipeline pay for JIT compilation and the first"
echo "transactions; the latency lines below are those of a warm pipeline, for images sent all at once:"
echo "each waits for those ahead of it (the COCO detector takes 30-120 ms per photograph on a"
echo "small machine). One image at a time takes tens of milliseconds (docs/performance.md, Streaming latency)."
vision submit-images samples/items/*.png samples/photos/dog.jpg --timeout-s 180 > /dev/null 2>&1 || true

say "Real photographs through Kafka to the COCO detector: $VISION_IMAGES_TOPIC -> preprocess -> scoring -> $VISION_RESULTS_TOPIC"
echo "centernet is a pretrained COCO detector (80 classes, MIT; converted and checked against its original by"
echo "the model kit). Each result lists the objects found, with score and box [x1,y1-x2,y2] in the photo's pixels."
vision submit-images -m centernet samples/photos/*.jpg --timeout-s 180

say "Images through Kafka to the default models: the detector, fashion-cnn and the caption model"
echo "Each result joins a caption (the caption model describes scenes of up to four articles),"
echo "fashion-cnn's labels (it classifies one article) and the detector's objects (there are none in"
echo "these synthetic pictures): scenes get meaningful captions, items meaningful labels."
vision submit-images samples/scenes/scene-0{0,1,2,3,4}.png samples/items/{1-trouser-test2,7-sneaker-test9,8-bag-test18}.png \
  --timeout-s 180
echo "Each image went in as its own W3C trace (the traceparent header, carried to its result); with"
echo "QUARKUS_OTEL_SDK_DISABLED=false and an OTLP collector the services add their spans to it (README, Tracing)."

say "Video through Kafka: samples/video.mp4, every 5th frame -> $VISION_VIDEO_SUMMARIES_TOPIC"
vision submit-videos samples/video.mp4 --every 5 --timeout-s 300

say "gRPC: Classify on the scoring service, Caption (beam 3) on the captioning service"
vision classify samples/items/7-sneaker-test9.png samples/large-item-1023x769.jpg
vision classify -m centernet samples/photos/person.jpg samples/photos/chelsea.jpg
echo "fashion-cnn knows clothing items only: its answer for the cat photograph is flagged out of its domain."
vision classify samples/photos/chelsea.jpg
vision caption --beam 3 samples/scenes/scene-05.png samples/large-scene-637x411.png

say "REST (KServe v2 / Triton HTTP protocol): POST /v2/models/lenet/infer on the scoring service"
if command -v curl > /dev/null; then
  pixels="$(printf '0.5,%.0s' $(seq 783))0.5"
  curl -s -X POST -H 'Content-Type: application/json' "localhost:$VISION_SCORING_HTTP_PORT/v2/models/lenet/infer" --data-binary \
    "{\"id\": \"demo-rest\", \"inputs\": [{\"name\": \"image\", \"shape\": [1, 1, 28, 28], \"datatype\": \"FP32\", \"data\": [$pixels]}], \"outputs\": [{\"name\": \"logits\"}]}"
  echo
else
  echo "skipped: curl is not installed (apt-get install curl)"
fi

say "Done in $((SECONDS - start_time)) s"
if $keep; then
  cat <<INFO
Left running:
  Kafka       localhost:$KAFKA_PORT            (deploy/local/kafka.sh stop)
  preprocess  http://localhost:$VISION_PREPROCESS_HTTP_PORT
  scoring     http://localhost:$VISION_SCORING_HTTP_PORT     REST OIP /v2, gRPC localhost:$VISION_SCORING_GRPC_PORT (OIP + vision.v1.ScoringService/Classify)
  captioning  http://localhost:$VISION_CAPTIONING_HTTP_PORT     gRPC localhost:$VISION_CAPTIONING_GRPC_PORT (Caption, Describe, GetVideoSummary)
  web console http://localhost:$VISION_CAPTIONING_HTTP_PORT/    (live results, dead letters, video timelines, uploads)
  health, metrics: http://localhost:$VISION_SCORING_MANAGEMENT_PORT/q/health, http://localhost:$VISION_CAPTIONING_MANAGEMENT_PORT/q/metrics, ...
  video summaries: curl localhost:$VISION_CAPTIONING_HTTP_PORT/videos/<video id>
  follow results:  java -jar services/cli/target/vision.jar follow results
Stop the services with deploy/local/services.sh stop.
INFO
fi
