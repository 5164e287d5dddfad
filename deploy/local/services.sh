#!/usr/bin/env bash
# The three services as separate local processes, against the local broker (deploy/local/kafka.sh).
#
#   deploy/local/services.sh start [SERVICE...]   start (default: preprocess scoring captioning), wait until ready
#   deploy/local/services.sh stop [SERVICE...]    stop the processes this script started
#   deploy/local/services.sh status               pids, ports and readiness
#
# Needs the packaged services (mvn -B install -DskipTests). Logs and pids: deploy/local/.run/.
# Ports (passed to the services) and KAFKA_BOOTSTRAP_SERVERS (localhost:9092): deploy/local/env.sh.
# Environment: VISION_MODELS_DIR (models/),
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
export VISION_PREPROCESS_VIDEO_WORK_DIR=${VISION_PREPROCESS_VIDEO_WORK_DIR:-$run/preprocess-work}
export VISION_PREPROCESS_DEFAULT_MODELS=${VISION_PREPROCESS_DEFAULT_MODELS:-centernet,fashion-cnn,caption-encoder}

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

# The ports of env.sh as system properties of SERVICE (JAVA_OPTS, given after them, wins).
port_options() {
  echo "-Dquarkus.http.port=$(http_port "$1")"
  [[ $(health_port "$1") == "$(http_port "$1")" ]] || echo "-Dquarkus.management.port=$(health_port "$1")"
  [[ -z $(grpc_port "$1") ]] || echo "-Dquarkus.grpc.server.port=$(grpc_port "$1")"
  [[ $1 != captioning ]] || echo "-Dquarkus.grpc.clients.scoring.port=$VISION_SCORING_GRPC_PORT"
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
  pid_running "$run/$1.pid" "quarkus-run.jar"
}

start() {
  mkdir -p "$run"
  local svc jar ports
  for svc in "$@"; do
    jar="$root/services/$svc/target/quarkus-app/quarkus-run.jar"
    if [[ ! -f "$jar" ]]; then
      echo "$svc is not built: run 'mvn -B install -DskipTests' first" >&2
      exit 1
    fi
    if pid=$(running_pid "$svc"); then
      echo "$svc already runs (pid $pid)"
      continue
    fi
    mapfile -t ports < <(port_options "$svc")
    # shellcheck disable=SC2086
    nohup java "${ports[@]}" ${JAVA_OPTS:-} -jar "$jar" > "$run/$svc.log" 2>&1 &
    echo $! > "$run/$svc.pid"
  done
  local deadline=$((SECONDS + ${VISION_READY_TIMEOUT_S:-180}))
  for svc in "$@"; do
    until [[ $(http_status "$(health_port "$svc")" /q/health/ready) == 200 ]]; do
      if ! running_pid "$svc" >/dev/null; then
        echo "$svc exited during start-up; last lines of $run/$svc.log:" >&2
        tail -20 "$run/$svc.log" >&2
        exit 1
      fi
      if (( SECONDS > deadline )); then
        echo "$svc not ready after ${VISION_READY_TIMEOUT_S:-180} s; last lines of $run/$svc.log:" >&2
        tail -20 "$run/$svc.log" >&2
        exit 1
      fi
      sleep 1
    done
    echo "$svc ready: http://localhost:$(http_port "$svc")$( [[ -n $(grpc_port "$svc") ]] && echo ", gRPC localhost:$(grpc_port "$svc")"), health http://localhost:$(health_port "$svc")/q/health"
  done
}

stop() {
  local svc pid
  for svc in "$@"; do
    if pid=$(running_pid "$svc"); then
      kill "$pid"
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -9 "$pid" 2>/dev/null || true
      echo "$svc stopped"
    fi
    rm -f "$run/$svc.pid"
  done
}

status() {
  local svc pid
  for svc in "${all[@]}"; do
    if pid=$(running_pid "$svc"); then
      echo "$svc: pid $pid, http :$(http_port "$svc"), health :$(health_port "$svc") ready=$(http_status "$(health_port "$svc")" /q/health/ready)"
    else
      echo "$svc: not running"
    fi
  done
}

cmd=${1:-status}
shift || true
services=("$@")
[[ ${#services[@]} -gt 0 ]] || services=("${all[@]}")
case "$cmd" in
  start) start "${services[@]}" ;;
  stop) stop "${services[@]}" ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status [SERVICE...]" >&2; exit 2 ;;
esac
