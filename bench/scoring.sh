#!/usr/bin/env bash
# Scoring throughput: raw ONNX Runtime (the ceiling) beside gRPC ModelInfer and the Kafka path,
# in one run, printed as a Markdown table. Options go to the benchmark:
#   bench/scoring.sh --model fashion-cnn --batch 8 [--seconds 10] [--kafka-images 2000] [--kafka-poll-records 64]
#   bench/scoring.sh --onnx ~/.cache/vision-zoo/resnet50/model.onnx --batch 4
# SCORING_JAVA_OPTS="-XX:StartFlightRecording=filename=/tmp/scoring.jfr,settings=profile" records the service.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -pl services/scoring -am install -DskipTests
mvn -B -q -pl services/scoring exec:java -Dexec.classpathScope=test \
  -Dexec.mainClass=io.streamvision.scoring.bench.ScoringBenchmark \
  -Dexec.args="--models-dir $PWD/models --jar $PWD/services/scoring/target/quarkus-app/quarkus-run.jar $*" \
  -Dquarkus.log.level=WARN
