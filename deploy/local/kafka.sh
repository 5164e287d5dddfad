#!/usr/bin/env bash
# A real Apache Kafka cluster (KRaft) for local runs, from the Maven Central artifacts: one node by
# default, or several with --brokers N. Needs only a JDK 17+ and Maven.
#
#   deploy/local/kafka.sh start [--brokers N]  start (formatting storage on first use), wait until it answers
#   deploy/local/kafka.sh stop                 stop every node this script started (by its pid)
#   deploy/local/kafka.sh status               say which nodes run and where
#   deploy/local/kafka.sh stop-node I          stop node I (1..N) of a cluster, e.g. to see a broker lost
#   deploy/local/kafka.sh kill-node I          the same with SIGKILL
#   deploy/local/kafka.sh start-node I         start node I again
#   deploy/local/kafka.sh bootstrap            print the bootstrap.servers list of the cluster
#   deploy/local/kafka.sh topics …             kafka-topics.sh, e.g. topics --describe
#   deploy/local/kafka.sh produce TOPIC        console producer (one record per line)
#   deploy/local/kafka.sh consume TOPIC [..]   console consumer from the beginning
#
# Every node is a combined broker and KRaft controller: with three, the controller quorum and each
# partition survive the loss of any one node, with three JVMs instead of six on a small machine.
# With N > 1 the internal topics (__consumer_offsets, __transaction_state) and the topics the
# services create get replication min(3, N) and min.insync.replicas min(2, N): an acknowledged
# write is on two nodes before a producer hears of it (single-node-broker.properties and the
# overrides below). The node count is fixed when the storage is formatted: to change it, stop and
# remove KAFKA_LOCAL_DIR.
#
# Node I listens for clients on KAFKA_PORT + 2(I-1) (9092, 9094, 9096) and as a controller on
# KAFKA_CONTROLLER_PORT + 2(I-1) (9093, 9095, 9097) (defaults in deploy/local/env.sh); the list is
# written to KAFKA_LOCAL_DIR/bootstrap, where env.sh finds it for services.sh, the CLI and the
# bench scripts. Environment: KAFKA_LOCAL_DIR (state folder, default deploy/local/.kafka),
# KAFKA_HEAP_OPTS (-Xmx1g per node).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$here/env.sh"
# shellcheck source=processes.sh
. "$here/processes.sh"
state=${KAFKA_LOCAL_DIR:-$here/.kafka}

classpath() {
  local cp_file="$state/classpath"
  if [[ ! -s "$cp_file" || "$here/pom.xml" -nt "$cp_file" ]]; then
    mkdir -p "$state"
    echo "Resolving Apache Kafka from Maven Central (first run only)..." >&2
    mvn -q -B -f "$here/pom.xml" dependency:build-classpath -Dmdep.outputFile="$cp_file" >&2
  fi
  cat "$cp_file"
}

# The number of nodes: as formatted, else as asked (--brokers), else 1.
nodes() {
  if [[ -s "$state/nodes" ]]; then cat "$state/nodes"; else echo "${requested:-1}"; fi
}

client_port() { echo $((KAFKA_PORT + 2 * ($1 - 1))); }
controller_port() { echo $((KAFKA_CONTROLLER_PORT + 2 * ($1 - 1))); }

# One node of a single-node set-up keeps the layout of earlier versions (state/data, broker.pid).
node_dir() { if (( $(nodes) == 1 )); then echo "$state"; else echo "$state/node-$1"; fi; }
pid_file() { if (( $(nodes) == 1 )); then echo "$state/broker.pid"; else echo "$state/node-$1/node.pid"; fi; }
log_file() { if (( $(nodes) == 1 )); then echo "$state/broker.log"; else echo "$state/node-$1/node.log"; fi; }

bootstrap() {
  local n list="" i
  n=$(nodes)
  for ((i = 1; i <= n; i++)); do list+="${list:+,}127.0.0.1:$(client_port "$i")"; done
  echo "$list"
}

running_pid() {
  pid_running "$(pid_file "$1")" "kafka.Kafka"
}

write_config() {
  local i=$1 n voters="" j dir
  n=$(nodes)
  dir=$(node_dir "$i")
  for ((j = 1; j <= n; j++)); do voters+="${voters:+,}$j@127.0.0.1:$(controller_port "$j")"; done
  mkdir -p "$dir"
  {
    cat <<PROPS
process.roles=broker,controller
node.id=$i
listeners=PLAINTEXT://127.0.0.1:$(client_port "$i"),CONTROLLER://127.0.0.1:$(controller_port "$i")
advertised.listeners=PLAINTEXT://127.0.0.1:$(client_port "$i")
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=3
PROPS
    if (( n == 1 )); then
      echo "controller.quorum.bootstrap.servers=127.0.0.1:$(controller_port 1)"
    else
      echo "controller.quorum.voters=$voters"
    fi
    cat "$here/single-node-broker.properties"
    if (( n > 1 )); then
      local rf=$((n < 3 ? n : 3)) isr=2
      cat <<PROPS
# A replicated cluster (these override the single-node values above).
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
default.replication.factor=$rf
min.insync.replicas=$isr
# A node that comes back takes its partitions' leadership back.
auto.leader.rebalance.enable=true
leader.imbalance.check.interval.seconds=30
PROPS
    fi
  } > "$dir/server.properties"
}

format_if_new() {
  local i=$1 cp=$2 dir cluster_id
  dir=$(node_dir "$i")
  [[ -f "$dir/data/meta.properties" ]] && return 0
  if [[ ! -s "$state/cluster-id" ]]; then
    java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1 > "$state/cluster-id"
  fi
  cluster_id=$(cat "$state/cluster-id")
  local mode=()
  (( $(nodes) == 1 )) && mode=(--standalone)
  java -Dlog4j2.configurationFile="$here/log4j2.properties" -cp "$cp" kafka.tools.StorageTool format \
    "${mode[@]}" -t "$cluster_id" -c "$dir/server.properties" > "$dir/format.log" 2>&1 \
    || { cat "$dir/format.log" >&2; exit 1; }
}

launch_node() {
  local i=$1 cp=$2 pid
  if pid=$(running_pid "$i"); then
    echo "node $i already runs (pid $pid) at 127.0.0.1:$(client_port "$i")"
    return 0
  fi
  write_config "$i"
  format_if_new "$i" "$cp"
  # shellcheck disable=SC2086
  nohup java ${KAFKA_HEAP_OPTS:--Xmx1g} -Dlog4j2.configurationFile="$here/log4j2.properties" \
    -cp "$cp" kafka.Kafka "$(node_dir "$i")/server.properties" > "$(log_file "$i")" 2>&1 &
  echo $! > "$(pid_file "$i")"
}

await_node() {
  local i=$1 started=$2 log port
  log=$(log_file "$i")
  port=$(client_port "$i")
  for _ in $(seq 1 240); do
    if ! running_pid "$i" > /dev/null; then
      echo "Kafka node $i exited while starting; last lines of $log:" >&2
      tail -n 30 "$log" >&2
      exit 1
    fi
    if grep -q "Kafka Server started" "$log" 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "Kafka $(grep -o 'Kafka version: [^ ]*' "$log" | head -n1 | cut -d' ' -f3) (KRaft) node $i is up in $((SECONDS - started)) s (pid $(cat "$(pid_file "$i")")) at 127.0.0.1:$port"
      return 0
    fi
    sleep 0.5
  done
  echo "Kafka node $i did not answer within 120 s; see $log" >&2
  exit 1
}

start() {
  local cp i n started=$SECONDS
  if [[ -s "$state/nodes" && -n ${requested:-} && $requested != "$(cat "$state/nodes")" ]]; then
    echo "$state holds a $(cat "$state/nodes")-node cluster; stop it and remove $state to start $requested nodes" >&2
    exit 1
  fi
  mkdir -p "$state"
  n=$(nodes)
  echo "$n" > "$state/nodes"
  cp=$(classpath)
  # The nodes of a cluster start together: the controller quorum needs a majority of them.
  for ((i = 1; i <= n; i++)); do launch_node "$i" "$cp"; done
  for ((i = 1; i <= n; i++)); do await_node "$i" "$started"; done
  bootstrap > "$state/bootstrap"
  if (( n > 1 )); then
    echo "replication factor $((n < 3 ? n : 3)), min.insync.replicas 2 (internal topics and default for new ones)"
  fi
  echo "bootstrap.servers=$(bootstrap)"
}

stop_node() {
  local i=$1 signal=${2:-TERM} pid
  if ! pid=$(running_pid "$i"); then
    rm -f "$(pid_file "$i")"
    return 0
  fi
  kill "-$signal" "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$(pid_file "$i")"; echo "Kafka node $i stopped (pid $pid, SIG$signal)"; return 0; }
    sleep 0.5
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$(pid_file "$i")"
  echo "Kafka node $i killed after 30 s (pid $pid)"
}

stop() {
  local i n any=0
  n=$(nodes)
  for ((i = 1; i <= n; i++)); do running_pid "$i" > /dev/null && any=1; done
  if (( any == 0 )); then
    echo "Kafka is not running"
    return 0
  fi
  # Brokers first, in parallel: the last ones need the quorum to shut down cleanly.
  for ((i = 1; i <= n; i++)); do stop_node "$i" & done
  wait
}

status() {
  local i n pid up=0
  n=$(nodes)
  for ((i = 1; i <= n; i++)); do
    if pid=$(running_pid "$i"); then
      echo "Kafka node $i is running (pid $pid) at 127.0.0.1:$(client_port "$i")"
      up=$((up + 1))
    else
      echo "Kafka node $i is not running"
    fi
  done
  (( up > 0 )) || return 3
  echo "bootstrap.servers=$(bootstrap)"
}

node_arg() {
  local i=${1:-}
  [[ $i =~ ^[0-9]+$ ]] && (( i >= 1 && i <= $(nodes) )) || { echo "name a node from 1 to $(nodes)" >&2; exit 2; }
  echo "$i"
}

tool() {
  local main=$1
  shift
  java -Dlog4j2.configurationFile="$here/log4j2-tools.properties" -cp "$(classpath)" "$main" "$@"
}

requested=""
cmd=${1:-}
shift || true
if [[ $cmd == start && ${1:-} == --brokers ]]; then
  requested=${2:?--brokers needs a number}
  [[ $requested =~ ^[1-9][0-9]*$ ]] || { echo "--brokers needs a positive number" >&2; exit 2; }
  shift 2
fi
case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  stop-node) stop_node "$(node_arg "${1:-}")" TERM ;;
  kill-node) stop_node "$(node_arg "${1:-}")" KILL ;;
  start-node) i=$(node_arg "${1:-}"); launch_node "$i" "$(classpath)"; await_node "$i" "$SECONDS" ;;
  bootstrap) bootstrap ;;
  topics) tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$(bootstrap)" "$@" ;;
  produce) tool org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$(bootstrap)" --topic "$@" ;;
  consume) tool org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$(bootstrap)" --from-beginning --topic "$@" ;;
  *) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p;}' "$0"; exit 2 ;;
esac
