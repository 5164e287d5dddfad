#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft: broker and controller in one process) for
# local runs, from the Maven Central artifacts. Needs only a JDK 17+ and Maven.
#
#   deploy/local/kafka.sh start     start (formatting storage on first use) and wait until it answers
#   deploy/local/kafka.sh stop      stop the broker this script started (by its pid)
#   deploy/local/kafka.sh status    say whether it runs and where
#   deploy/local/kafka.sh topics …  kafka-topics.sh, e.g. topics --list
#   deploy/local/kafka.sh produce TOPIC      console producer (one record per line)
#   deploy/local/kafka.sh consume TOPIC [..] console consumer from the beginning
#
# Environment: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093) (defaults in deploy/local/env.sh),
# KAFKA_LOCAL_DIR (state folder, default deploy/local/.kafka), KAFKA_HEAP_OPTS (-Xmx1g).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$here/env.sh"
# shellcheck source=processes.sh
. "$here/processes.sh"
state=${KAFKA_LOCAL_DIR:-$here/.kafka}
port=$KAFKA_PORT
controller_port=$KAFKA_CONTROLLER_PORT
bootstrap="127.0.0.1:$port"
pid_file="$state/broker.pid"
log_file="$state/broker.log"

classpath() {
  local cp_file="$state/classpath"
  if [[ ! -s "$cp_file" || "$here/pom.xml" -nt "$cp_file" ]]; then
    mkdir -p "$state"
    echo "Resolving Apache Kafka from Maven Central (first run only)..." >&2
    mvn -q -B -f "$here/pom.xml" dependency:build-classpath -Dmdep.outputFile="$cp_file" >&2
  fi
  cat "$cp_file"
}

running_pid() {
  pid_running "$pid_file" "kafka.Kafka"
}

write_config() {
  {
    cat <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$state/data
num.partitions=3
PROPS
    cat "$here/single-node-broker.properties"
  } > "$state/server.properties"
}

start() {
  local pid
  if pid=$(running_pid); then
    echo "Kafka is already running (pid $pid) at $bootstrap"
    return 0
  fi
  local cp
  cp=$(classpath)
  mkdir -p "$state"
  write_config
  if [[ ! -f "$state/data/meta.properties" ]]; then
    local cluster_id
    cluster_id=$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)
    java -Dlog4j2.configurationFile="$here/log4j2.properties" -cp "$cp" kafka.tools.StorageTool format \
      --standalone -t "$cluster_id" -c "$state/server.properties" > "$state/format.log" 2>&1 \
      || { cat "$state/format.log" >&2; exit 1; }
  fi
  local started=$SECONDS
  nohup java ${KAFKA_HEAP_OPTS:--Xmx1g} -Dlog4j2.configurationFile="$here/log4j2.properties" \
    -cp "$cp" kafka.Kafka "$state/server.properties" > "$log_file" 2>&1 &
  echo $! > "$pid_file"
  for _ in $(seq 1 120); do
    if ! running_pid > /dev/null; then
      echo "Kafka exited while starting; last lines of $log_file:" >&2
      tail -n 30 "$log_file" >&2
      exit 1
    fi
    if grep -q "Kafka Server started" "$log_file" 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "Kafka $(grep -o 'Kafka version: [^ ]*' "$log_file" | head -n1 | cut -d' ' -f3) (KRaft) is up in $((SECONDS - started)) s (pid $(cat "$pid_file"))"
      echo "bootstrap.servers=$bootstrap"
      return 0
    fi
    sleep 0.5
  done
  echo "Kafka did not answer within 60 s; see $log_file" >&2
  exit 1
}

stop() {
  local pid
  if ! pid=$(running_pid); then
    echo "Kafka is not running"
    rm -f "$pid_file"
    return 0
  fi
  kill "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pid_file"; echo "Kafka stopped (pid $pid)"; return 0; }
    sleep 0.5
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pid_file"
  echo "Kafka killed after 30 s (pid $pid)"
}

status() {
  local pid
  if pid=$(running_pid); then
    echo "Kafka is running (pid $pid) at $bootstrap"
  else
    echo "Kafka is not running"
    return 3
  fi
}

tool() {
  local main=$1
  shift
  java -Dlog4j2.configurationFile="$here/log4j2-tools.properties" -cp "$(classpath)" "$main" "$@"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  topics) shift; tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" "$@" ;;
  produce) shift; tool org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$bootstrap" --topic "$@" ;;
  consume) shift; tool org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$bootstrap" --from-beginning --topic "$@" ;;
  *) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p;}' "$0"; exit 2 ;;
esac
