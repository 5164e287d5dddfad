#!/usr/bin/env bash
# Pipeline efficiency: the same image work twice in one run, on the same images. Once as the
# project's own code in a loop in one JVM with no Kafka (decode, resize and normalise as preprocess
# does, fashion-cnn and the caption encoder through the scoring service's inference engine, the
# captioning service's batched beam search: the pipeline's ceiling here), once through a broker
# and the three packaged services (images in, joined labels and captions out, read_committed,
# every image checked exactly once). Prints images/s of both, their ratio and the CPU time per
# image of each process (the three services, the broker and the benchmark's JVM, the client).
#   bench/pipeline.sh [--images 2000] [--photos true] [--threads N] [--batch 8]
#                     [--broker process|in-jvm] [--partitions 3] [--commit-interval-ms N]
#                     [--profile libasyncProfiler.so|jfr]
# --photos true adds the sample photographs (up to a few megapixels) to the sample items.
# The in-JVM loop runs on --threads threads (default: the cores) with one ONNX Runtime thread
# each. Both sides warm up in rounds of --images images until two rounds in a row agree within 5%
# on images/s and the JIT compilers took under 5% of the CPU of the round (read from each JVM's
# compiler threads), then run three times; the median counts. The broker runs in a JVM of its
# own (--broker in-jvm: in the benchmark's, counted with the client); topics have the services'
# default 3 partitions; --commit-interval-ms sets kafka-streams.commit.interval.ms of preprocess
# and captioning.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q install -DskipTests
cd services/captioning
mvn -B -q org.codehaus.mojo:exec-maven-plugin:3.5.0:java -Dexec.classpathScope=test \
  -Dexec.mainClass=io.streamvision.captioning.PipelineBenchmark \
  -Dexec.args="$*" -Dquarkus.log.level=WARN
