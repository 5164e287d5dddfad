# shellcheck shell=bash
# What demo.sh and the bench scripts that run the whole pipeline share: the ports and topic names
# of deploy/local/env.sh, the local broker started only when none runs (and stopped only if
# started here), and the vision command pointed at those ports. Source it:
#   . bench/lib.sh
#   ensure_broker; trap 'stop_local scoring > /dev/null' EXIT; deploy/local/services.sh start scoring
lib_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../deploy/local/env.sh
. "$lib_root/deploy/local/env.sh"

# true once ensure_broker has started the broker (the caller then stops it, stop_local does).
started_kafka=false

# Starts the local broker (deploy/local/kafka.sh) unless one already answers; exits as
# kafka.sh start does when it cannot start.
ensure_broker() {
  if ! "$lib_root/deploy/local/kafka.sh" status > /dev/null 2>&1; then
    "$lib_root/deploy/local/kafka.sh" start
    started_kafka=true
  fi
}

# Stops the given services and the broker if ensure_broker started it; never fails, for traps.
stop_local() {
  "$lib_root/deploy/local/services.sh" stop "$@" || true
  if $started_kafka; then "$lib_root/deploy/local/kafka.sh" stop || true; fi
}

# The vision command, talking to the broker and gRPC ports above.
vision() {
  KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS VISION_SCORING_GRPC=$VISION_SCORING_GRPC \
    VISION_CAPTIONING_GRPC=$VISION_CAPTIONING_GRPC java -jar "$lib_root/services/cli/target/vision.jar" "$@"
}

# CPU ticks (1/100 s) of the given processes, all threads and their JIT compiler threads only, as
# "total compiler" (what CompilerCpu reads for the Java benchmarks).
cpu_ticks() {
  local total=0 jit=0 pid t name rest
  for pid in "$@"; do
    for t in /proc/"$pid"/task/*/stat; do
      read -r line < "$t" 2> /dev/null || continue
      name=${line#*(}; name=${name%)*}; rest=${line##*) }
      set -- $rest
      total=$((total + ${12} + ${13}))
      [[ $name == C[12]\ CompilerThre* ]] && jit=$((jit + ${12} + ${13}))
    done
  done
  echo "$total $jit"
}

