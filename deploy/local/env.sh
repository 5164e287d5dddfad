# shellcheck shell=bash disable=SC2034
# Ports, addresses and topic names of the local set-up, written once for demo.sh, deploy/local/*.sh
# and bench/*.sh (source it; it only sets variables). Every value can be overridden from the
# environment, e.g. KAFKA_PORT=19092 deploy/local/kafka.sh start.
#
# These are the scripts' defaults. The services' own defaults live in each service's
# src/main/resources/application.properties (quarkus.http.port, quarkus.grpc.server.port,
# kafka.bootstrap.servers, quarkus.grpc.clients.scoring.port) and the topic names in
# libs/kafka/src/main/java/io/streamvision/kafka/Topics.java: the two must agree.
# deploy/local/services.sh passes the ports below to the services it starts, so an override here
# reaches them too.

# Local Kafka broker (deploy/local/kafka.sh): client listener and KRaft controller listener.
: "${KAFKA_PORT:=9092}"
: "${KAFKA_CONTROLLER_PORT:=9093}"

# Where the services and the vision command find the brokers (Quarkus and the CLI read this name):
# the list kafka.sh wrote for the cluster it started (every node, so a client starts even when one
# node is down), else the one local broker.
_vision_kafka_list="${KAFKA_LOCAL_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/.kafka}/bootstrap"
if [[ -z ${KAFKA_BOOTSTRAP_SERVERS:-} && -s $_vision_kafka_list ]]; then
  KAFKA_BOOTSTRAP_SERVERS=$(cat "$_vision_kafka_list")
fi
unset _vision_kafka_list
: "${KAFKA_BOOTSTRAP_SERVERS:=localhost:$KAFKA_PORT}"

# HTTP ports of the services (REST; preprocess also /q/health and /q/metrics).
: "${VISION_PREPROCESS_HTTP_PORT:=8081}"
: "${VISION_SCORING_HTTP_PORT:=8082}"
: "${VISION_CAPTIONING_HTTP_PORT:=8083}"

# Management ports of scoring and captioning: /q/health and /q/metrics, plain HTTP.
: "${VISION_SCORING_MANAGEMENT_PORT:=8092}"
: "${VISION_CAPTIONING_MANAGEMENT_PORT:=8093}"

# gRPC ports (captioning reads VISION_SCORING_GRPC_PORT to reach scoring).
: "${VISION_SCORING_GRPC_PORT:=8001}"
: "${VISION_CAPTIONING_GRPC_PORT:=8003}"

# The gRPC addresses the vision command uses (its --server defaults read these names).
: "${VISION_SCORING_GRPC:=localhost:$VISION_SCORING_GRPC_PORT}"
: "${VISION_CAPTIONING_GRPC:=localhost:$VISION_CAPTIONING_GRPC_PORT}"

# Topics the scripts name, as Topics.java plus $VISION_KAFKA_TOPIC_SUFFIX (these rename nothing).
: "${VISION_IMAGES_TOPIC:=vision.images.v1${VISION_KAFKA_TOPIC_SUFFIX:-}}"
: "${VISION_RESULTS_TOPIC:=vision.results.v1${VISION_KAFKA_TOPIC_SUFFIX:-}}"
: "${VISION_VIDEO_SUMMARIES_TOPIC:=vision.video-summaries.v1${VISION_KAFKA_TOPIC_SUFFIX:-}}"
