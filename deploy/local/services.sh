#!/usr/bin/env bash
# The three services as separate local processes, against the local broker or cluster
# (deploy/local/kafka.sh), one instance of each or several.
#
#   deploy/local/services.sh start [--instances N] [SERVICE...]
#                                   start instances 1..N (default 1) of each SERVICE (default:
#                                   preprocess scoring captioning) that do not run yet; wait until ready
#   deploy/local/services.sh scale SERVICE N   start or stop (SIGTERM, highest first) instances to have N
#   deploy/local/services.sh roll [SERVICE...] rolling restart, one instance at a time: SIGTERM, start,
#                                   wait until ready, next (as Kubernetes does on an upgrade)
#   deploy/local/services.sh stop [SERVICE...] stop every instance this script started
#   deploy/local/services.sh status            pids, ports and readiness of every instance
#
# Instance K listens on the ports of deploy/local/env.sh plus 100 (K-1) (scoring 2: HTTP 8182,
# management 8192, gRPC 8101) and has its own Kafka Streams state folder and video work folder
# under deploy/local/.run/; its transactional ids are its own by default (<group>-<host>-<pid>).
# Captioning instances ask scoring instance 1 over gRPC and advertise their own HTTP port to each
# other for video-summary queries.
#
# Needs the packaged services (mvn -B install -DskipTests). Logs and pids: deploy/local/.run/
# (instance 1: SERVICE.log, instance K: SERVICE-K.log).
# Ports (passed to the services) and KAFKA_BOOTSTRAP_SERVERS (localhost:9092, or the cluster's list
# that kafka.sh wrote): deploy/local/env.sh. Environment: VISION_MODELS_DIR (models/),
# JAVA_OPTS (extra JVM options for every service), VISION_READY_TIMEOUT_S (180),
# VISION_PREPROCESS_VIDEO_SOURCES_FILE_ROOTS (directories file: videos may come from; default
# media/ and samples/ of this checkout), VISION_PREPROCESS_DEFAULT_MODELS (the models an image goes
# to when its request names none; here the COCO detector as well as the demo classifier and the
# caption encoder, so a photograph gets its objects).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
run=${VISION_RUN_DIR:-$here/.run}
all=(preprocess scoring captioning)
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$here/env.sh"
# shellcheck source=processes.sh
. "$here/processes.sh"
export KAFKA_BOOTSTRAP_SERVERS
export VISION_MODELS_DIR=${VISION_MODELS_DIR:-$root/models}
export VISION_PREPROCESS_VIDEO_SOURCES_FILE_ROOTS=${VISION_PREPROCESS_VIDEO_SOURCES_FILE_ROOTS:-$root/media,$root/samples}
work=${VISION_PREPROCESS_VIDEO_WORK_DIR:-$run/preprocess-work}
export VISION_PREPROCESS_DEFAULT_MODELS=${VISION_PREPROCESS_DEFAULT_MODELS:-centernet,fashion-cnn,caption-encoder}

# Ports of instance 1 of SERVICE; instance K adds 100 (K-1).
http_port() {
  case "$1" in
    preprocess) echo "$VISION_PREPROCESS_HTTP_PORT" ;;
    scoring) echo "$VISION_SCORING_HTTP_PORT" ;;
    captioning) echo "$VISION_CAPTIONING_HTTP_PORT" ;;
  esac
}

# Where /q/health and /q/metrics answer: the management port where the service has one.
health_port() {
  case "$1" in
    scoring) echo "$VISION_SCORING_MANAGEMENT_PORT" ;;
    captioning) echo "$VISION_CAPTIONING_MANAGEMENT_PORT" ;;
    *) http_port "$1" ;;
  esac
}

grpc_port() {
  case "$1" in scoring) echo "$VISION_SCORING_GRPC_PORT" ;; captioning) echo "$VISION_CAPTIONING_GRPC_PORT" ;; *) echo "" ;; esac
}

# port KIND SERVICE K: the port of instance K.
port() {
  local base
  base=$("$1" "$2")
  [[ -z $base ]] || echo $((base + 100 * ($3 - 1)))
}

# The file names of instance K: SERVICE for instance 1 (as before instances existed), SERVICE-K.
instance_name() { if (( $2 == 1 )); then echo "$1"; else echo "$1-$2"; fi; }

# System properties of instance K of SERVICE: its ports, state and work folders (JAVA_OPTS, given
# after them, wins).
instance_options() {
  local svc=$1 k=$2 http health grpc name
  http=$(port http_port "$svc" "$k")
  health=$(port health_port "$svc" "$k")
  grpc=$(port grpc_port "$svc" "$k")
  name=$(instance_name "$svc" "$k")
  echo "-Dquarkus.http.port=$http"
  [[ $health == "$http" ]] || echo "-Dquarkus.management.port=$health"
  [[ -z $grpc ]] || echo "-Dquarkus.grpc.server.port=$grpc"
  echo "-Dkafka-streams.state.dir=$run/state/$name"
  case "$svc" in
    captioning)
      echo "-Dquarkus.grpc.clients.scoring.port=$VISION_SCORING_GRPC_PORT"
      echo "-Dquarkus.kafka-streams.application-server=localhost:$http"
      ;;
    preprocess) echo "-Dvision.preprocess.video.work-dir=$work/$name" ;;
  esac
}

# HTTP status of GET http://127.0.0.1:PORT/PATH with bash only (no curl needed).
http_status() {
  local port=$1 path=$2 line
  { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || { echo 000; return; }
  printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$path" >&3
  IFS=' ' read -r -t 5 _ line _ <&3 || line=000
  exec 3<&- 3>&-
  echo "${line:-000}"
}

running_pid() {
  pid_running "$run/$(instance_name "$1" "$2").pid" "quarkus-run.jar"
}

# The instance numbers of SERVICE that have a pid file, in order.
instances() {
  local f k
  for f in "$run/$1.pid" "$run/$1"-*.pid; do
    [[ -f $f ]] || continue
    k=${f##*/}; k=${k%.pid}; k=${k#"$1"}; k=${k#-}
    echo "${k:-1}"
  done | sort -n
}

launch() {
  local svc=$1 k=$2 jar name pid opts
  jar="$root/services/$svc/target/quarkus-app/quarkus-run.jar"
  if [[ ! -f "$jar" ]]; then
    echo "$svc is not built: run 'mvn -B install -DskipTests' first" >&2
    exit 1
  fi
  name=$(instance_name "$svc" "$k")
  if pid=$(running_pid "$svc" "$k"); then
    echo "$name already runs (pid $pid)"
    return 0
  fi
  mkdir -p "$run/state"
  mapfile -t opts < <(instance_options "$svc" "$k")
  # shellcheck disable=SC2086
  nohup java "${opts[@]}" ${JAVA_OPTS:-} -jar "$jar" > "$run/$name.log" 2>&1 &
  echo $! > "$run/$name.pid"
}

await_ready() {
  local svc=$1 k=$2 deadline=$3 name health
  name=$(instance_name "$svc" "$k")
  health=$(port health_port "$svc" "$k")
  until [[ $(http_status "$health" /q/health/ready) == 200 ]]; do
    if ! running_pid "$svc" "$k" >/dev/null; then
      echo "$name exited during start-up; last lines of $run/$name.log:" >&2
      tail -20 "$run/$name.log" >&2
      exit 1
    fi
    if (( SECONDS > deadline )); then
      echo "$name not ready after ${VISION_READY_TIMEOUT_S:-180} s; last lines of $run/$name.log:" >&2
      tail -20 "$run/$name.log" >&2
      exit 1
    fi
    sleep 1
  done
  local grpc
  grpc=$(port grpc_port "$svc" "$k")
  echo "$name ready: http://localhost:$(port http_port "$svc" "$k")${grpc:+, gRPC localhost:$grpc}, health http://localhost:$health/q/health"
}

start() {
  mkdir -p "$run"
  local n=$1 svc k
  shift
  for svc in "$@"; do
    for ((k = 1; k <= n; k++)); do launch "$svc" "$k"; done
  done
  local deadline=$((SECONDS + ${VISION_READY_TIMEOUT_S:-180}))
  for svc in "$@"; do
    for ((k = 1; k <= n; k++)); do await_ready "$svc" "$k" "$deadline"; done
  done
}

stop_instance() {
  local svc=$1 k=$2 pid name
  name=$(instance_name "$svc" "$k")
  if pid=$(running_pid "$svc" "$k"); then
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    echo "$name stopped"
  fi
  rm -f "$run/$name.pid"
}

stop() {
  local svc k
  for svc in "$@"; do
    for k in $(instances "$svc" | sort -rn); do stop_instance "$svc" "$k"; done
  done
}

scale() {
  local svc=$1 n=$2 k
  [[ " ${all[*]} " == *" $svc "* ]] || { echo "no service $svc" >&2; exit 2; }
  [[ $n =~ ^[0-9]+$ ]] || { echo "scale needs a number of instances" >&2; exit 2; }
  for k in $(instances "$svc" | sort -rn); do
    (( k > n )) && stop_instance "$svc" "$k"
  done
  (( n == 0 )) || start "$n" "$svc"
}

roll() {
  local svc k deadline
  for svc in "$@"; do
    for k in $(instances "$svc"); do
      running_pid "$svc" "$k" > /dev/null || continue
      stop_instance "$svc" "$k"
      launch "$svc" "$k"
      deadline=$((SECONDS + ${VISION_READY_TIMEOUT_S:-180}))
      await_ready "$svc" "$k" "$deadline"
    done
  done
}

status() {
  local svc pid k any
  for svc in "${all[@]}"; do
    any=false
    for k in $(instances "$svc"); do
      if pid=$(running_pid "$svc" "$k"); then
        any=true
        echo "$(instance_name "$svc" "$k"): pid $pid, http :$(port http_port "$svc" "$k"), health :$(port health_port "$svc" "$k") ready=$(http_status "$(port health_port "$svc" "$k")" /q/health/ready) live=$(http_status "$(port health_port "$svc" "$k")" /q/health/live)"
      fi
    done
    $any || echo "$svc: not running"
  done
}

cmd=${1:-status}
shift || true
count=1
if [[ $cmd == start && ${1:-} == --instances ]]; then
  count=${2:?--instances needs a number}
  [[ $count =~ ^[1-9][0-9]*$ ]] || { echo "--instances needs a positive number" >&2; exit 2; }
  shift 2
fi
services=("$@")
[[ ${#services[@]} -gt 0 ]] || services=("${all[@]}")
case "$cmd" in
  start) start "$count" "${services[@]}" ;;
  scale) scale "${1:?scale SERVICE N}" "${2:?scale SERVICE N}" ;;
  roll) roll "${services[@]}" ;;
  stop) stop "${services[@]}" ;;
  status) status ;;
  *) echo "usage: $0 start [--instances N]|scale SERVICE N|roll|stop|status [SERVICE...]" >&2; exit 2 ;;
esac
