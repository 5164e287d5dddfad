#!/usr/bin/env bash
# What a shadow version costs the serving path: the scoring service serving fashion-cnn v1 with an
# identical v2 beside it (the same network, so the shadow's compute equals the serving version's),
# measured with `vision perf` over gRPC and Kafka in one run, row by row:
#   no candidate | shadow on every batch | none | shadow on 1 batch in 4 | none (after a warm-up pass)
# Each row prints the throughput, the p50/p99 latency, and for the shadow rows how many inputs were
# paired and how many batches the shadow skipped (its queue was full: the serving path never waits).
#   bench/rollout.sh [--pin] [--seconds 5] [--kafka-requests 4000]
# --pin runs the service on the upper half of the cores and the clients and broker on the others.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source-path=SCRIPTDIR source=lib.sh
. bench/lib.sh
seconds=5
kafka_requests=4000
pin=false
while (($#)); do
  case "$1" in
    --pin) pin=true ;;
    --seconds) seconds=$2; shift ;;
    --kafka-requests) kafka_requests=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[[ -f services/scoring/target/quarkus-app/quarkus-run.jar && -f services/cli/target/vision.jar ]] \
  || mvn -B -q install -DskipTests
service_cpus="" client_cpus=""
if $pin; then
  cores=$(nproc); half=$((cores / 2))
  service_cpus="$half-$((cores - 1))"; client_cpus="0-$((half - 1))"
fi
client() { if [[ -n $client_cpus ]]; then taskset -c "$client_cpus" "$@"; else "$@"; fi; }

repo=$(mktemp -d /tmp/rollout-bench-XXXX)
mkdir -p "$repo/fashion-cnn"
cp -r models/fashion-cnn/1 "$repo/fashion-cnn/1"
cp -r models/fashion-cnn/1 "$repo/fashion-cnn/2"
sed -i 's/"version": 1,/"version": 2,/' "$repo/fashion-cnn/2/config.json"
echo '{"serving": 1}' > "$repo/fashion-cnn/rollout.json"

if curl -sf "localhost:$VISION_SCORING_MANAGEMENT_PORT/q/health/live" > /dev/null 2>&1; then
  echo "a scoring service already answers on port $VISION_SCORING_MANAGEMENT_PORT: stop it first" \
    "(deploy/local/services.sh stop)" >&2
  exit 1
fi
ensure_broker
log=$(mktemp /tmp/rollout-bench-scoring-XXXX.log)
scoring_pid=""
cleanup() {
  if [[ -n $scoring_pid ]]; then
    kill "$scoring_pid" 2> /dev/null || true
    wait "$scoring_pid" 2> /dev/null || true
  fi
  stop_local > /dev/null 2>&1 || true
  rm -rf "$repo"
}
trap cleanup EXIT
service=(java -jar services/scoring/target/quarkus-app/quarkus-run.jar)
[[ -n $service_cpus ]] && service=(taskset -c "$service_cpus" "${service[@]}")
# env and taskset exec what follows: $! is the service's own pid, which the trap stops.
env VISION_MODELS_DIR="$repo" VISION_SCORING_MODELS=fashion-cnn VISION_SCORING_MODELS_POLL_SECONDS=1 \
  KAFKA_BOOTSTRAP_SERVERS="$KAFKA_BOOTSTRAP_SERVERS" VISION_KAFKA_TOPIC_SUFFIX=.bench-rollout \
  "${service[@]}" > "$log" 2>&1 &
scoring_pid=$!
http=http://localhost:$VISION_SCORING_HTTP_PORT
for _ in $(seq 120); do
  curl -sf "localhost:$VISION_SCORING_MANAGEMENT_PORT/q/health/ready" > /dev/null && break
  sleep 1
done
if ! kill -0 "$scoring_pid" 2> /dev/null \
  || ! curl -sf "localhost:$VISION_SCORING_MANAGEMENT_PORT/q/health/ready" > /dev/null; then
  echo "scoring did not start: $log" >&2
  exit 1
fi

set_rollout() {
  curl -sf -X PUT "$http/v2/models/fashion-cnn/rollout" -d "$1" > /dev/null
  sleep 1
}
perf_row() { # label protocol
  local out
  if [[ $2 == grpc ]]; then
    out=$(client java -jar services/cli/target/vision.jar perf -m fashion-cnn --batch-size 8 --concurrency-range 8 \
      -p $((seconds * 1000)) --warmup-ms 3000 2>/dev/null)
  else
    out=$(KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS VISION_KAFKA_TOPIC_SUFFIX=.bench-rollout client java -jar \
      services/cli/target/vision.jar perf -m fashion-cnn -i kafka --request-rate-range 0 \
      --kafka-requests "$kafka_requests" --warmup-ms 3000 2>/dev/null)
  fi
  local row
  row=$(grep -E '^\| [0-9]' <<< "$out" | tail -1)
  local rate p50 p99
  rate=$(awk -F'|' '{gsub(/ /,"",$3); print $3}' <<< "$row")
  p50=$(awk -F'|' '{gsub(/ /,"",$4); print $4}' <<< "$row")
  p99=$(awk -F'|' '{gsub(/ /,"",$7); print $7}' <<< "$row")
  local figures
  figures=$(curl -sf "$http/v2/models/fashion-cnn/rollout" | /usr/bin/python3 -c '
import json, sys
c = json.load(sys.stdin).get("comparison") or {}
print("%d inputs paired, %d skipped, agreement %s" % (c.get("pairs", 0), c.get("shadow_skipped", 0),
      c.get("top1_agreement")) if c else "-")' 2>/dev/null || echo "-")
  printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$rate" "$p50" "$p99" "$figures"
}

echo "fashion-cnn, gRPC: batch 8, concurrency 8, ${seconds} s; Kafka: $kafka_requests FP32 records as fast as possible"
$pin && echo "pinned: service on cores $service_cpus, broker and clients on $client_cpus"
echo
echo "| rollout | path | infer/s | p50 ms | p99 ms | comparison (cumulative in the rollout) |"
echo "|---|---|---:|---:|---:|---|"
# Warm-up, not printed: the first minute of a fresh JVM compiles the paths the rows then measure.
set_rollout '{"serving": 1}'
perf_row warm-up grpc > /dev/null
perf_row warm-up kafka > /dev/null
for variant in none shadow-1 none-between shadow-4 none-again; do
  case $variant in
    none*) set_rollout '{"serving": 1}' ;;
    shadow-1) set_rollout '{"serving": 1, "shadow": {"version": 2, "sample": 1}}' ;;
    shadow-4) set_rollout '{"serving": 1, "shadow": {"version": 2, "sample": 4}}' ;;
  esac
  perf_row "$variant" grpc
  perf_row "$variant" kafka
done
