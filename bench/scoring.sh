#!/usr/bin/env bash
# Scoring throughput: raw ONNX Runtime (the ceiling) beside gRPC ModelInfer and the Kafka path,
# in one run, printed as a Markdown table. Options go to the benchmark:
#   bench/scoring.sh --model fashion-cnn --batch 8 [--seconds 10] [--kafka-images 2000] [--kafka-poll-records N]
#   bench/scoring.sh --onnx ~/.cache/vision-zoo/resnet50/model.onnx --name resnet50 --batch 4
# More: --warmup S (gRPC warm-up seconds, 3), --kafka-warmup N (records sent and scored before the
# Kafka path is timed, 5000), --torch false (no PyTorch eager row; it needs Debian's python3-torch).
# A model whose image input accepts UINT8 gets UINT8 Kafka records, as preprocess writes them
# (--kafka-fp32 true sends FP32), and one more gRPC row sending UINT8 pixels.
# The ceiling is measured again beside the idle service and broker, and each row's share of that
# is printed below the table. Each row also shows what the service did meanwhile (batches, mean
# batch, queue wait, compute) and the CPU time per image of the service and of the benchmark's JVM
# (the broker and the clients).
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
mvn -B -q -pl services/scoring exec:java -Dexec.classpathScope=test \
  -Dexec.mainClass="$main" \
  -Dexec.args="--models-dir $PWD/models --jar $PWD/services/scoring/target/quarkus-app/quarkus-run.jar $*" \
  -Dquarkus.log.level=WARN
