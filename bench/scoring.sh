#!/usr/bin/env bash
# Scoring throughput: raw ONNX Runtime (the ceiling) beside gRPC ModelInfer and the Kafka path,
# in one run, printed as a Markdown table. Options go to the benchmark:
#   bench/scoring.sh --model fashion-cnn --batch 8 [--seconds 10] [--kafka-images 2000] [--kafka-poll-records N]
#   bench/scoring.sh --onnx ~/.cache/vision-zoo/resnet50/model.onnx --name resnet50 --batch 4
# More: --warmup S (gRPC warm-up, 3 s: a third at batch 1, then rounds of two thirds at concurrency 8
# until two in a row agree within 5% and the service's JIT compiler took under 5% of its CPU, at
# most 30), --kafka-warmup N (at most N records scored before the Kafka path is timed: 30000 or ten
# times --kafka-images, in rounds of --kafka-images records until two rounds agree within 5% and the
# JIT compiler took under 5% of the service's CPU), --torch false (no PyTorch eager row; it needs Debian's python3-torch),
# --intra-op-threads N (the ceiling's and the service's; 0, ONNX Runtime's default).
# A model whose image input accepts UINT8 gets UINT8 Kafka records, as preprocess writes them
# (--kafka-fp32 true sends FP32), and one more gRPC row sending UINT8 pixels.
# The ceiling is measured again beside the idle service and broker, and each row's share of that
# is printed below the table. Each row also shows what the service did meanwhile (batches, mean
# batch, queue wait, compute) and the CPU time per image of the service (in brackets its JIT
# compiler's part) and of the benchmark's JVM (the broker and the clients).
#   bench/scoring.sh --pin [CPUS] --model fashion-cnn --batch 8
# pins the service to CPUS (taskset; default the upper half of the cores, core 1 of 2) and the
# benchmark's JVM (broker and clients) to the other cores; the ceiling and the PyTorch row then run
# on CPUS too, with intra-op threads = the number of pinned cores in the ceiling and the service
# alike, so each ratio compares the service with ONNX Runtime on the same cores.
# SCORING_JAVA_OPTS="-XX:StartFlightRecording=filename=/tmp/scoring.jfr,settings=profile" records the service.
#   bench/scoring.sh --instances [--model M | --onnx FILE] [--batch 8] [--seconds 3]
# compares raw OrtSession.run with one instance on ONNX Runtime's threads against single-threaded
# instances, alone and beside a busy thread (what vision.scoring.execution.instances is chosen from).
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -pl services/scoring -am install -DskipTests
main=io.streamvision.scoring.bench.ScoringBenchmark
if [[ "${1:-}" == "--instances" ]]; then
  shift
  main=io.streamvision.scoring.bench.InstancesBenchmark
fi
args=()
launcher=()
while (($#)); do
  if [[ "$1" == "--pin" ]]; then
    shift
    cores=$(nproc)
    if ((cores < 2)); then echo "--pin needs at least 2 cores (this machine has $cores)" >&2; exit 2; fi
    command -v taskset > /dev/null || { echo "--pin needs taskset (util-linux)" >&2; exit 2; }
    half=$((cores / 2))
    service_cpus="$half-$((cores - 1))"
    other_cpus="0-$((half - 1))"
    if [[ "${1:-}" =~ ^[0-9] ]]; then
      service_cpus=$1
      shift
      other_cpus=$(/usr/bin/python3 -c "
import sys
def parse(s):
    out = set()
    for p in s.split(','):
        a, _, b = p.partition('-')
        out.update(range(int(a), int(b or a) + 1))
    return out
print(','.join(str(c) for c in sorted(set(range($cores)) - parse('$service_cpus'))))")
    fi
    args+=(--pin "$service_cpus")
    launcher=(taskset -c "$other_cpus")
  else
    args+=("$1")
    shift
  fi
done
"${launcher[@]}" mvn -B -q -pl services/scoring exec:java -Dexec.classpathScope=test \
  -Dexec.mainClass="$main" \
  -Dexec.args="--models-dir $PWD/models --jar $PWD/services/scoring/target/quarkus-app/quarkus-run.jar ${args[*]}" \
  -Dquarkus.log.level=WARN
