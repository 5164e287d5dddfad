#!/usr/bin/env bash
# Bulk video classification at scale, two modes:
#   bench/videos.sh [copies] [every-n-frames]
#     N copies of the sample video (default 50) submitted at once through the running pipeline
#     (Kafka -> preprocess -> scoring -> video summaries), frames/s end to end, beside the
#     decode-only rate (FFmpeg through JavaCPP, this machine) and the scoring-only rate (raw ONNX
#     Runtime, fashion-cnn) measured in the same run.
#   bench/videos.sh --long [seconds] [x264-preset]
#     one long 320x240 video (default 3600 s, written at run time into media/) sampled at 1 fps;
#     x264's preset ultrafast (the default: no B-frames, every frame a reference) or e.g. medium
#     (x264's default: B-frames, which the service's decoder skips when no sampled frame needs them):
#     end-to-end wall time with one and with two preprocess instances (each with its default segment
#     loops, one per processor; VISION_PREPROCESS_VIDEO_SEGMENT_LOOPS=1 for one), beside ffmpeg's
#     decode-only time of the same file (`ffmpeg -threads 1 -i X -f null -`) and the service's
#     own decoder alone, in one pass and in 30 s segments; image latency (p50/p99) with the
#     pipeline idle and while the video runs. A 300 s video of the same kind, twice, then passes of
#     the measured video until the services' JIT compilers are nearly done warm the services up
#     first (and the second preprocess instance when it joins). "From the request sent to the final
#     summary read" is the vision command's own clock; its wall time adds its JVM's start.
# Starts the local broker and the services when they are not running, and stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source-path=SCRIPTDIR source=lib.sh
. bench/lib.sh
if [[ "${1:-}" == "--long" ]]; then
  seconds=${2:-3600}
  preset=${3:-ultrafast}
  [[ -f services/cli/target/vision.jar ]] || mvn -B -q install -DskipTests
  mkdir -p media
  video=media/long-${seconds}s-320x240.mp4
  [[ $preset == ultrafast ]] || video=media/long-${seconds}s-320x240-$preset.mp4
  if [[ ! -f $video ]]; then
    if command -v ffmpeg > /dev/null; then
      ffmpeg -loglevel error -f lavfi -i "testsrc2=size=320x240:rate=25" -t "$seconds" -c:v libx264 -preset "$preset" "$video"
    else
      java -cp "$(ls services/preprocess/target/quarkus-app/lib/main/*.jar | tr '\n' ':')" \
        io.streamvision.video.SyntheticVideos "$video" "$seconds" 320 240 25 MP4
    fi
  fi
  # A shorter video of the same kind, twice, warms the services up: the JIT compiler took a fifth of
  # preprocess's and half of scoring's and captioning's CPU during a first run on fresh services,
  # and after the two short videos alone still 41 % of scoring's and 57 % of captioning's during the
  # hour (async-profiler). VIDEOS_WARMUP=short leaves the untimed passes of the hour out.
  warm=media/long-300s-320x240.mp4
  if [[ ! -f $warm ]] && command -v ffmpeg > /dev/null; then
    ffmpeg -loglevel error -f lavfi -i "testsrc2=size=320x240:rate=25" -t 300 -c:v libx264 -preset ultrafast "$warm"
  fi
  # Then passes of the measured video, untimed, until the services' JIT compilers took under 5 % of
  # their CPU in a pass (at most 6): after one pass they still took 39 % of scoring's and 45 % of
  # captioning's CPU in the next (async-profiler), competing with the decoder for the two cores.
  warm_up() {
    if [[ -f $warm ]]; then
      for _ in 1 2; do vision submit-videos --fps 1 --no-progress --timeout-s 600 "$warm" > /dev/null 2>&1 || true; done
    fi
    [[ ${VIDEOS_WARMUP:-full} == short ]] && return 0
    local pass before after pids
    pids=$(cat deploy/local/.run/{preprocess,scoring,captioning}*.pid 2> /dev/null)
    for pass in 1 2 3 4 5 6; do
      read -r -a before <<< "$(cpu_ticks $pids)"
      vision submit-videos --fps 1 --no-progress --timeout-s 7200 "$video" > /dev/null 2>&1 || true
      read -r -a after <<< "$(cpu_ticks $pids)"
      local share=$(( 100 * (after[1] - before[1]) / (after[0] - before[0] + 1) ))
      echo "warm-up pass $pass of the measured video: JIT compilers ${share} % of the services' CPU"
      if ((share < 5)); then break; fi
    done
  }
  echo "== $video: $(du -h "$video" | cut -f1), $seconds s at 25 fps, x264 preset $preset"
  if command -v ffmpeg > /dev/null; then
    start=$(date +%s.%N)
    ffmpeg -loglevel error -threads 1 -i "$video" -f null -
    echo "ffmpeg -threads 1 -i X -f null - (decode only, every frame): $(awk "BEGIN{print $(date +%s.%N) - $start}") s"
  else
    echo "ffmpeg: not installed (apt-get install ffmpeg); its decode-only reference is skipped"
  fi
  mvn -B -q -pl libs/media exec:java -Dexec.classpathScope=test \
    -Dexec.mainClass=io.streamvision.video.bench.VideoBenchmark -Dexec.args="$PWD/$video 0 1 30"
  ensure_broker
  trap 'stop_local preprocess scoring captioning > /dev/null' EXIT
  deploy/local/services.sh start preprocess scoring captioning
  latency() {   # rounds of the 14 sample items; prints the latency lines
    for _ in $(seq 1 "$1"); do
      vision submit-images samples/items 2>&1 > /dev/null | grep latency || true
      sleep 1
    done
  }
  warm_up
  echo "== Image latency, pipeline idle (5 rounds of samples/items)"
  latency 5
  run_long() {   # $1: label, $2: "images" to send images while the video runs
    local start end pid
    start=$(date +%s.%N)
    vision submit-videos --fps 1 --no-progress --timeout-s 7200 "$video" > "${TMPDIR:-/tmp}/long-video-$1.txt" 2>&1 &
    pid=$!
    if [[ "${2:-}" == images ]]; then
      echo "== Image latency while the long video runs ($1)"
      while kill -0 "$pid" 2> /dev/null; do latency 1; done
    fi
    wait "$pid" || true
    end=$(date +%s.%N)
    echo "== $1${2:+, images meanwhile}: long video end to end (1 fps): $(awk "BEGIN{print $end - $start}") s" \
      "(the vision command's wall time, with its JVM start); from the request sent to the final summary read:" \
      "$(grep -Eo 'scored in [0-9.]+ s' "${TMPDIR:-/tmp}/long-video-$1.txt" | grep -Eo '[0-9.]+') s"
    tail -3 "${TMPDIR:-/tmp}/long-video-$1.txt"
  }
  echo "preprocess segment loops per instance (vision.preprocess.video.segment-loops, 0 = one per processor):" \
    "$(curl -fs "localhost:$VISION_PREPROCESS_HTTP_PORT/q/health/ready" | grep -Eo '"segments-loops": ?[0-9]*' | grep -Eo '[0-9]+$')"
  run_long "one preprocess instance"
  run_long "one preprocess instance" images
  # A second preprocess instance: same groups, its own ports, state and transactional ids.
  deploy/local/services.sh scale preprocess 2
  second_port=$((VISION_PREPROCESS_HTTP_PORT + 100))
  until curl -fs "localhost:$second_port/q/health/ready" 2> /dev/null | grep -Eq '"segments-partitions": ?[1-9]'; do sleep 1; done
  sleep 5
  warm_up
  run_long "two preprocess instances"
  run_long "two preprocess instances" images
  echo "segments decoded by the second instance: $(curl -fs "localhost:$second_port/q/health/ready" | grep -Eo '"segments-transactions": ?[0-9]*')," \
    "by each of its loops: $(curl -fs "localhost:$second_port/q/health/ready" | grep -Eo '"segments-transactions-each": ?"[0-9,]*"')"
  exit 0
fi
copies=${1:-50}
every=${2:-5}
[[ -f services/cli/target/vision.jar ]] || mvn -B -q install -DskipTests
ensure_broker
trap 'stop_local preprocess scoring captioning > /dev/null' EXIT
deploy/local/services.sh start preprocess scoring captioning

echo "== End to end: $copies copies of samples/video.mp4 (500 frames, 20 s), every $every frames"
# One warm-up video so that start-up costs (JIT, first transactions) stay out of the figure.
vision submit-videos --every "$every" --no-progress samples/video.mp4 > /dev/null
vision submit-videos --every "$every" --repeat "$copies" --no-progress --json \
  samples/video.mp4 > "${TMPDIR:-/tmp}/video-summaries.jsonl"
echo "summaries: ${TMPDIR:-/tmp}/video-summaries.jsonl ($(grep -c '"COMPLETE"' "${TMPDIR:-/tmp}/video-summaries.jsonl") COMPLETE)"
deploy/local/services.sh stop > /dev/null

echo "== Decode only: the service's FFmpeg decoder, every frame of the sample video (the pipeline decodes every frame too)"
mvn -B -q -pl libs/media exec:java -Dexec.classpathScope=test \
  -Dexec.mainClass=io.streamvision.video.bench.VideoBenchmark -Dexec.args="$PWD/samples/video.mp4 10"
echo "== Scoring only: raw ONNX Runtime, fashion-cnn, batch 64"
mvn -B -q -pl services/scoring exec:java -Dexec.classpathScope=test \
  -Dexec.mainClass=io.streamvision.scoring.bench.ScoringBenchmark \
  -Dexec.args="--models-dir $PWD/models --model fashion-cnn --batch 64 --seconds 10 --ceiling-only true"
