{{/*
Helpers of the streamvision chart.

Most helpers that concern one service take a context dict (dict "root" $ "name" $name "c" $values):
  root  the chart's top-level context ($)
  name  the service: preprocess, scoring or captioning
  c     that service's values (.Values.<name>)
*/}}

{{/* The three services, in pipeline order. Every per-service template ranges over this list. */}}
{{- define "streamvision.components" -}}
preprocess scoring captioning
{{- end }}

{{/* Chart name, shortened to 63 characters (the DNS label limit of names). */}}
{{- define "streamvision.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Release-wide prefix of resource names: fullnameOverride, else "<release>-<chart>", or just the
release name when it already contains the chart name. Shortened so that "-captioning" still fits.
*/}}
{{- define "streamvision.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Name of one service's Deployment, Service, ConfigMap and autoscalers: "<fullname>-<service>". */}}
{{- define "streamvision.componentFullname" -}}
{{- printf "%s-%s" (include "streamvision.fullname" .root) .name }}
{{- end }}

{{/* "name-version" of the chart, for the helm.sh/chart label. */}}
{{- define "streamvision.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "streamvision.labels" -}}
helm.sh/chart: {{ include "streamvision.chart" . }}
{{ include "streamvision.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: streamvision
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels that identify the release; never change them after the first install. */}}
{{- define "streamvision.selectorLabels" -}}
app.kubernetes.io/name: {{ include "streamvision.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of one service's resources. */}}
{{- define "streamvision.componentLabels" -}}
{{ include "streamvision.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{/* Selector of one service's pods; Deployments, Services, PDBs and ServiceMonitors use it. */}}
{{- define "streamvision.componentSelectorLabels" -}}
{{ include "streamvision.selectorLabels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{/* The ServiceAccount the pods run as. */}}
{{- define "streamvision.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "streamvision.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
An image reference from split fields. Takes (dict "root" $ "image" <fields> "tagSuffix" "...");
empty registry, tag and pullPolicy fall back to .Values.image, the tag then to the appVersion.
A digest, when given, pins the image and the tag is left out.
*/}}
{{- define "streamvision.imageRef" -}}
{{- $registry := default .root.Values.image.registry .image.registry }}
{{- $tag := default (default .root.Chart.AppVersion .root.Values.image.tag) .image.tag }}
{{- $ref := .image.repository }}
{{- if $registry }}
{{- $ref = printf "%s/%s" $registry $ref }}
{{- end }}
{{- if .image.digest }}
{{- printf "%s@%s" $ref .image.digest }}
{{- else }}
{{- printf "%s:%s%s" $ref (toString $tag) (default "" .tagSuffix) }}
{{- end }}
{{- end }}

{{/* The image of one service; scoring's GPU variant is the same repository with the "-cuda" tag. */}}
{{- define "streamvision.componentImage" -}}
{{- $suffix := "" }}
{{- if (include "streamvision.gpuEnabled" .) }}
{{- $suffix = .c.gpu.tagSuffix }}
{{- end }}
{{- include "streamvision.imageRef" (dict "root" .root "image" .c.image "tagSuffix" $suffix) }}
{{- end }}

{{/* The pull policy of one service's image. */}}
{{- define "streamvision.componentPullPolicy" -}}
{{- default .root.Values.image.pullPolicy .c.image.pullPolicy }}
{{- end }}

{{/* "true" when this service runs on a GPU (only scoring has a gpu section). */}}
{{- define "streamvision.gpuEnabled" -}}
{{- if and (hasKey .c "gpu") .c.gpu.enabled }}true{{ end }}
{{- end }}

{{/* "true" when this service runs a Kafka Streams topology (configured by quarkus.kafka-streams.*). */}}
{{- define "streamvision.runsKafkaStreams" -}}
{{- if has .name (list "preprocess" "captioning") }}true{{ end }}
{{- end }}

{{/*
The environment variable Quarkus maps to a configuration key: upper case, and every character
other than a letter or digit becomes "_" (vision.scoring.top-k -> VISION_SCORING_TOP_K).
Names that are already environment variables pass unchanged.
*/}}
{{- define "streamvision.envName" -}}
{{- regexReplaceAll "[^A-Za-z0-9]" . "_" | upper }}
{{- end }}

{{/* Kafka's security protocol uses TLS. */}}
{{- define "streamvision.kafkaTls" -}}
{{- if has .Values.kafka.security.protocol (list "SSL" "SASL_SSL") }}true{{ end }}
{{- end }}

{{/* Kafka's security protocol uses SASL. */}}
{{- define "streamvision.kafkaSasl" -}}
{{- if has .Values.kafka.security.protocol (list "SASL_PLAINTEXT" "SASL_SSL") }}true{{ end }}
{{- end }}

{{/* Where the Kafka trust store and key store Secrets are mounted. */}}
{{- define "streamvision.truststoreDir" -}}/etc/streamvision/kafka/truststore{{- end }}
{{- define "streamvision.keystoreDir" -}}/etc/streamvision/kafka/keystore{{- end }}

{{/*
The JAAS login module of a SASL mechanism. The username and password are filled in by
Kubernetes from the SASL_USERNAME and SASL_PASSWORD variables defined before it.
*/}}
{{- define "streamvision.jaasConfig" -}}
{{- $module := "org.apache.kafka.common.security.scram.ScramLoginModule" }}
{{- if eq .Values.kafka.security.sasl.mechanism "PLAIN" }}
{{- $module = "org.apache.kafka.common.security.plain.PlainLoginModule" }}
{{- end }}
{{- printf "%s required username=\"$(SASL_USERNAME)\" password=\"$(SASL_PASSWORD)\";" $module }}
{{- end }}

{{/*
The non-secret configuration of one service as a map of environment variables (YAML): the
ports, the broker address, the models directory, the topic settings, the Kafka security
settings that are not secret, the scoring endpoint of captioning and the CUDA provider of a
GPU scoring pod, then the shared and the service's own `config` (which win).
The ConfigMap holds exactly this, and the pods carry its checksum.
*/}}
{{- define "streamvision.configData" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $env := dict }}
{{- $_ := set $env "QUARKUS_HTTP_PORT" (toString .c.ports.http) }}
{{- if .c.ports.grpc }}
{{- $_ := set $env "QUARKUS_GRPC_SERVER_PORT" (toString .c.ports.grpc) }}
{{- end }}
{{- $_ := set $env "KAFKA_BOOTSTRAP_SERVERS" $v.kafka.bootstrapServers }}
{{- $_ := set $env "VISION_MODELS_DIR" $v.models.mountPath }}
{{- $strimzi := default dict $v.kafka.strimzi }}
{{- $_ := set $env "VISION_KAFKA_CREATE_TOPICS" (toString (and $v.kafka.topics.create (not $strimzi.topics))) }}
{{- $_ := set $env "VISION_KAFKA_PARTITIONS" (toString $v.kafka.topics.partitions) }}
{{- $_ := set $env "VISION_KAFKA_REPLICATION_FACTOR" (toString $v.kafka.topics.replicationFactor) }}
{{- if gt (int (default 0 $v.kafka.topics.minInsyncReplicas)) 0 }}
{{- $_ := set $env "VISION_KAFKA_MIN_INSYNC_REPLICAS" (toString $v.kafka.topics.minInsyncReplicas) }}
{{- end }}
{{- if eq .name "captioning" }}
{{- $_ := set $env "VISION_CAPTIONING_STANDBY_REPLICAS" (toString (default 0 .c.standbyReplicas)) }}
{{- end }}
{{- if $v.kafka.topics.suffix }}
{{- $_ := set $env "VISION_KAFKA_TOPIC_SUFFIX" $v.kafka.topics.suffix }}
{{- end }}
{{- $_ := set $env "VISION_KAFKA_OUTPUT_FORMAT" (default "protobuf" $v.kafka.topics.outputFormat) }}
{{- if $v.tracing.enabled }}
{{- $_ := set $env "QUARKUS_OTEL_SDK_DISABLED" "false" }}
{{- $_ := set $env "QUARKUS_OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" (required "tracing.endpoint is required when tracing.enabled" $v.tracing.endpoint) }}
{{- $_ := set $env "QUARKUS_OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" $v.tracing.protocol }}
{{- $_ := set $env "QUARKUS_OTEL_TRACES_SAMPLER" "parentbased_traceidratio" }}
{{- $_ := set $env "QUARKUS_OTEL_TRACES_SAMPLER_ARG" (toString $v.tracing.samplerRatio) }}
{{- end }}
{{- $javaOpts := printf "-Djava.io.tmpdir=/tmp -Dorg.bytedeco.javacpp.cachedir=/tmp/javacpp %s" (default "" .c.jvmOptions) }}
{{- $_ := set $env "JAVA_TOOL_OPTIONS" (trim $javaOpts) }}
{{- /* Kafka security: kafka.* client properties for the Kafka clients, quarkus.kafka-streams.* for Kafka Streams. */}}
{{- $streams := include "streamvision.runsKafkaStreams" . }}
{{- $sec := $v.kafka.security }}
{{- $_ := set $env "KAFKA_SECURITY_PROTOCOL" $sec.protocol }}
{{- if $streams }}
{{- $_ := set $env "QUARKUS_KAFKA_STREAMS_SECURITY_PROTOCOL" $sec.protocol }}
{{- end }}
{{- if include "streamvision.kafkaSasl" $root }}
{{- $_ := set $env "KAFKA_SASL_MECHANISM" $sec.sasl.mechanism }}
{{- if $streams }}
{{- $_ := set $env "QUARKUS_KAFKA_STREAMS_SASL_MECHANISM" $sec.sasl.mechanism }}
{{- end }}
{{- end }}
{{- if and (include "streamvision.kafkaTls" $root) $sec.tls.truststore.existingSecret }}
{{- $ts := $sec.tls.truststore }}
{{- $location := printf "%s/%s" (include "streamvision.truststoreDir" $root) (ternary $ts.certificateKey $ts.pkcs12Key (eq $ts.type "PEM")) }}
{{- $_ := set $env "KAFKA_SSL_TRUSTSTORE_TYPE" $ts.type }}
{{- $_ := set $env "KAFKA_SSL_TRUSTSTORE_LOCATION" $location }}
{{- if $streams }}
{{- $_ := set $env "QUARKUS_KAFKA_STREAMS_SSL_TRUSTSTORE_TYPE" $ts.type }}
{{- $_ := set $env "QUARKUS_KAFKA_STREAMS_SSL_TRUSTSTORE_LOCATION" $location }}
{{- end }}
{{- end }}
{{- if and (include "streamvision.kafkaTls" $root) $sec.tls.keystore.existingSecret }}
{{- $location := printf "%s/%s" (include "streamvision.keystoreDir" $root) $sec.tls.keystore.pkcs12Key }}
{{- $_ := set $env "KAFKA_SSL_KEYSTORE_TYPE" "PKCS12" }}
{{- $_ := set $env "KAFKA_SSL_KEYSTORE_LOCATION" $location }}
{{- if $streams }}
{{- $_ := set $env "QUARKUS_KAFKA_STREAMS_SSL_KEYSTORE_TYPE" "PKCS12" }}
{{- $_ := set $env "QUARKUS_KAFKA_STREAMS_SSL_KEYSTORE_LOCATION" $location }}
{{- end }}
{{- end }}
{{- if eq .name "captioning" }}
{{- $_ := set $env "QUARKUS_GRPC_CLIENTS_SCORING_HOST" (include "streamvision.scoringHost" $root) }}
{{- $_ := set $env "QUARKUS_GRPC_CLIENTS_SCORING_PORT" (include "streamvision.scoringPort" $root) }}
{{- /* The web console's status strip asks this release's Services for readiness. */}}
{{- $pre := include "streamvision.componentFullname" (dict "root" $root "name" "preprocess") }}
{{- $sco := include "streamvision.componentFullname" (dict "root" $root "name" "scoring") }}
{{- $_ := set $env "VISION_CAPTIONING_CONSOLE_SERVICES" (printf "preprocess=http://%s:%v/q/health/ready,scoring=http://%s:%v/q/health/ready,captioning=http://localhost:%v/q/health/ready" $pre $v.preprocess.ports.http $sco $v.scoring.ports.management .c.ports.management) }}
{{- $_ := set $env "VISION_CAPTIONING_CONSOLE_SCORING_URL" (printf "http://%s:%v" $sco $v.scoring.ports.http) }}
{{- $suffix := $v.kafka.topics.suffix }}
{{- $preConfig := default dict $v.preprocess.config }}
{{- $capConfig := default dict .c.config }}
{{- $videos := default "vision-preprocess-videos" (index $preConfig "vision.preprocess.video.kafka.group-id") }}
{{- $groups := list (include "streamvision.consumerGroup" (dict "root" $root "name" "preprocess" "c" $v.preprocess)) $videos (printf "%s-segments" $videos) (include "streamvision.consumerGroup" (dict "root" $root "name" "scoring" "c" $v.scoring)) (include "streamvision.consumerGroup" (dict "root" $root "name" "captioning" "c" .c)) (default (printf "vision-results%s" $suffix) (index $capConfig "quarkus.kafka-streams.application-id")) }}
{{- $_ := set $env "VISION_CAPTIONING_CONSOLE_LAG_GROUPS" (join "," $groups) }}
{{- end }}
{{- if .c.ports.management }}
{{- $_ := set $env "QUARKUS_MANAGEMENT_PORT" (toString .c.ports.management) }}
{{- end }}
{{- /* TLS and tokens on the endpoints of scoring and captioning (README, "Security"). */}}
{{- if has .name (list "scoring" "captioning") }}
{{- $prefix := printf "VISION_%s" (upper .name) }}
{{- if $v.tls.secretName }}
{{- $tls := include "streamvision.tlsDir" $root }}
{{- $_ := set $env "QUARKUS_TLS_SERVER_KEY_STORE_PEM_0_CERT" (printf "%s/tls.crt" $tls) }}
{{- $_ := set $env "QUARKUS_TLS_SERVER_KEY_STORE_PEM_0_KEY" (printf "%s/tls.key" $tls) }}
{{- $_ := set $env "QUARKUS_HTTP_TLS_CONFIGURATION_NAME" "server" }}
{{- $_ := set $env "QUARKUS_HTTP_INSECURE_REQUESTS" "disabled" }}
{{- $_ := set $env "QUARKUS_HTTP_SSL_PORT" (toString .c.ports.http) }}
{{- $_ := set $env "QUARKUS_GRPC_SERVER_PLAIN_TEXT" "false" }}
{{- if $v.tls.clientAuth }}
{{- $_ := set $env "QUARKUS_TLS_SERVER_TRUST_STORE_PEM_CERTS" (printf "%s/ca.crt" $tls) }}
{{- $_ := set $env (printf "%s_TLS_CLIENT_AUTH" $prefix) "required" }}
{{- end }}
{{- if eq .name "captioning" }}
{{- $_ := set $env "QUARKUS_GRPC_CLIENTS_SCORING_USE_QUARKUS_GRPC_CLIENT" "true" }}
{{- $_ := set $env "QUARKUS_GRPC_CLIENTS_SCORING_PLAIN_TEXT" "false" }}
{{- $_ := set $env "QUARKUS_GRPC_CLIENTS_SCORING_TLS_CONFIGURATION_NAME" "scoring" }}
{{- $_ := set $env "QUARKUS_TLS_SCORING_TRUST_STORE_PEM_CERTS" (printf "%s/ca.crt" $tls) }}
{{- if $v.tls.clientAuth }}
{{- $_ := set $env "QUARKUS_TLS_SCORING_KEY_STORE_PEM_0_CERT" (printf "%s/tls.crt" $tls) }}
{{- $_ := set $env "QUARKUS_TLS_SCORING_KEY_STORE_PEM_0_KEY" (printf "%s/tls.key" $tls) }}
{{- end }}
{{- end }}
{{- end }}
{{- $auth := $v.auth }}
{{- if $auth.enabled }}
{{- $_ := set $env (printf "%s_AUTH_ENABLED" $prefix) "true" }}
{{- if $auth.jwt.secretName }}
{{- if $auth.jwt.jwksKey }}
{{- $_ := set $env (printf "%s_AUTH_JWKS" $prefix) (printf "/etc/streamvision/auth/jwt/%s" $auth.jwt.jwksKey) }}
{{- else }}
{{- $_ := set $env (printf "%s_AUTH_JWT_PUBLIC_KEY" $prefix) (printf "/etc/streamvision/auth/jwt/%s" $auth.jwt.publicKeyKey) }}
{{- end }}
{{- with $auth.jwt.issuer }}
{{- $_ := set $env (printf "%s_AUTH_ISSUER" $prefix) . }}
{{- end }}
{{- with $auth.jwt.audience }}
{{- $_ := set $env (printf "%s_AUTH_AUDIENCE" $prefix) . }}
{{- end }}
{{- end }}
{{- if $auth.apiKeys.secretName }}
{{- $_ := set $env (printf "%s_AUTH_API_KEYS" $prefix) (printf "/etc/streamvision/auth/api-keys/%s" $auth.apiKeys.key) }}
{{- end }}
{{- end }}
{{- if and (eq .name "captioning") $auth.captioningToken.secretName }}
{{- $_ := set $env "VISION_CAPTIONING_SCORING_TOKEN_FILE" (printf "/etc/streamvision/auth/scoring-token/%s" $auth.captioningToken.key) }}
{{- end }}
{{- end }}
{{- if include "streamvision.gpuEnabled" . }}
{{- $_ := set $env "VISION_SCORING_EXECUTION_PROVIDER" "cuda" }}
{{- end }}
{{- range $key, $value := $v.config }}
{{- $_ := set $env (include "streamvision.envName" $key) (toString $value) }}
{{- end }}
{{- range $key, $value := .c.config }}
{{- $_ := set $env (include "streamvision.envName" $key) (toString $value) }}
{{- end }}
{{- range $key := keys $env | sortAlpha }}
{{ $key }}: {{ index $env $key | quote }}
{{- end }}
{{- end }}

{{/* Host of the scoring gRPC endpoint captioning calls: captioning.scoringService.host, else this release's scoring Service. */}}
{{- define "streamvision.scoringHost" -}}
{{- if .Values.captioning.scoringService.host }}
{{- .Values.captioning.scoringService.host }}
{{- else }}
{{- include "streamvision.componentFullname" (dict "root" . "name" "scoring") }}
{{- end }}
{{- end }}

{{/* Port of the scoring gRPC endpoint captioning calls. */}}
{{- define "streamvision.scoringPort" -}}
{{- if .Values.captioning.scoringService.port }}
{{- .Values.captioning.scoringService.port }}
{{- else }}
{{- .Values.scoring.ports.grpc }}
{{- end }}
{{- end }}

{{/*
Environment entries that come from Secrets (SASL credentials, store passwords). SASL_USERNAME
and SASL_PASSWORD come first so that the JAAS configuration can refer to them.
*/}}
{{- define "streamvision.secretEnv" -}}
{{- $root := .root }}
{{- $sec := $root.Values.kafka.security }}
{{- $streams := include "streamvision.runsKafkaStreams" . }}
{{- if include "streamvision.kafkaSasl" $root }}
{{- with $sec.sasl.username }}
- name: SASL_USERNAME
  value: {{ . | quote }}
{{- end }}
{{- if $sec.sasl.jaasConfigKey }}
- name: KAFKA_SASL_JAAS_CONFIG
  valueFrom:
    secretKeyRef:
      name: {{ $sec.sasl.existingSecret }}
      key: {{ $sec.sasl.jaasConfigKey }}
{{- else }}
- name: SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $sec.sasl.existingSecret }}
      key: {{ $sec.sasl.passwordKey }}
- name: KAFKA_SASL_JAAS_CONFIG
  value: {{ include "streamvision.jaasConfig" $root | quote }}
{{- end }}
{{- if $streams }}
- name: QUARKUS_KAFKA_STREAMS_SASL_JAAS_CONFIG
  value: "$(KAFKA_SASL_JAAS_CONFIG)"
{{- end }}
{{- end }}
{{- if include "streamvision.kafkaTls" $root }}
{{- $ts := $sec.tls.truststore }}
{{- if and $ts.existingSecret (eq $ts.type "PKCS12") }}
{{- range $prefix := compact (list "KAFKA" (ternary "QUARKUS_KAFKA_STREAMS" "" (eq $streams "true"))) }}
- name: {{ $prefix }}_SSL_TRUSTSTORE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $ts.existingSecret }}
      key: {{ $ts.passwordKey }}
{{- end }}
{{- end }}
{{- $ks := $sec.tls.keystore }}
{{- if $ks.existingSecret }}
{{- range $prefix := compact (list "KAFKA" (ternary "QUARKUS_KAFKA_STREAMS" "" (eq $streams "true"))) }}
- name: {{ $prefix }}_SSL_KEYSTORE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $ks.existingSecret }}
      key: {{ $ks.passwordKey }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* Volumes of the Kafka trust store and key store Secrets (none without TLS). */}}
{{- define "streamvision.kafkaVolumes" -}}
{{- if include "streamvision.kafkaTls" . }}
{{- with .Values.kafka.security.tls.truststore.existingSecret }}
- name: kafka-truststore
  secret:
    secretName: {{ . }}
{{- end }}
{{- with .Values.kafka.security.tls.keystore.existingSecret }}
- name: kafka-keystore
  secret:
    secretName: {{ . }}
{{- end }}
{{- end }}
{{- end }}

{{/* Mounts of those Secrets, read-only, where KAFKA_SSL_*_LOCATION points. */}}
{{- define "streamvision.kafkaVolumeMounts" -}}
{{- if include "streamvision.kafkaTls" . }}
{{- if .Values.kafka.security.tls.truststore.existingSecret }}
- name: kafka-truststore
  mountPath: {{ include "streamvision.truststoreDir" . }}
  readOnly: true
{{- end }}
{{- if .Values.kafka.security.tls.keystore.existingSecret }}
- name: kafka-keystore
  mountPath: {{ include "streamvision.keystoreDir" . }}
  readOnly: true
{{- end }}
{{- end }}
{{- end }}

{{/* The models volume: the existing PVC, or an emptyDir the init container fills. */}}
{{- define "streamvision.modelsVolume" -}}
- name: models
{{- if .Values.models.persistentVolumeClaim.claimName }}
  persistentVolumeClaim:
    claimName: {{ .Values.models.persistentVolumeClaim.claimName }}
    readOnly: true
{{- else }}
  emptyDir:
    sizeLimit: {{ .Values.models.sizeLimit }}
{{- end }}
{{- end }}

{{/* The init container that copies the model repository out of the models image (none with a PVC). */}}
{{- define "streamvision.modelsInitContainer" -}}
{{- if not .Values.models.persistentVolumeClaim.claimName }}
{{- $image := .Values.models.image }}
- name: copy-models
  image: {{ include "streamvision.imageRef" (dict "root" . "image" $image) | quote }}
  imagePullPolicy: {{ default .Values.image.pullPolicy $image.pullPolicy }}
  command:
    - sh
    - -c
    - {{ printf "cp -R %s/. /mnt/models/" (trimSuffix "/" $image.path) | quote }}
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  resources:
    {{- toYaml .Values.models.initResources | nindent 4 }}
  volumeMounts:
    - name: models
      mountPath: /mnt/models
{{- end }}
{{- end }}

{{/* The mount of the models volume in a service container. */}}
{{- define "streamvision.modelsVolumeMount" -}}
- name: models
  mountPath: {{ .Values.models.mountPath }}
  readOnly: true
{{- with .Values.models.persistentVolumeClaim.subPath }}
{{- if $.Values.models.persistentVolumeClaim.claimName }}
  subPath: {{ . }}
{{- end }}
{{- end }}
{{- end }}

{{/* The resources of one service; a GPU scoring pod also gets <count> GPUs in its limits. */}}
{{- define "streamvision.resources" -}}
{{- $resources := deepCopy (default dict .c.resources) }}
{{- if include "streamvision.gpuEnabled" . }}
{{- $limits := default dict $resources.limits }}
{{- $_ := set $limits .c.gpu.resourceName (.c.gpu.count | int) }}
{{- $_ := set $resources "limits" $limits }}
{{- end }}
{{- toYaml $resources }}
{{- end }}

{{/* The Kafka consumer group whose lag KEDA watches. */}}
{{- define "streamvision.consumerGroup" -}}
{{- $suffix := .root.Values.kafka.topics.suffix }}
{{- $config := default dict .c.config }}
{{- if .c.keda.consumerGroup }}
{{- .c.keda.consumerGroup }}
{{- else if eq .name "preprocess" }}
{{- default (printf "vision-preprocess%s" $suffix) (index $config "quarkus.kafka-streams.application-id") }}
{{- else }}
{{- default (printf "vision-%s" .name) (index $config (printf "vision.%s.kafka.group-id" .name)) }}
{{- end }}
{{- end }}

{{/*
The topics whose lag KEDA watches, as a JSON list; an empty list means every topic the group
consumes (scoring's vision.tensors.<model>.v1 topics follow the models in the repository).
*/}}
{{- define "streamvision.kedaTopics" -}}
{{- $suffix := .root.Values.kafka.topics.suffix }}
{{- if .c.keda.topics }}
{{- toJson .c.keda.topics }}
{{- else if eq .name "preprocess" }}
{{- toJson (list (printf "vision.images.v1%s" $suffix) (printf "vision.videos.v1%s" $suffix)) }}
{{- else if eq .name "captioning" }}
{{- toJson (list (printf "vision.features.v1%s" $suffix)) }}
{{- else }}
{{- toJson list }}
{{- end }}
{{- end }}

{{/* "true" when KEDA needs credentials for Kafka: SASL, or a trust store or key store Secret with TLS. */}}
{{- define "streamvision.kedaAuthNeeded" -}}
{{- $tls := .Values.kafka.security.tls }}
{{- if or (include "streamvision.kafkaSasl" .) (and (include "streamvision.kafkaTls" .) (or $tls.truststore.existingSecret $tls.keystore.existingSecret)) }}true{{ end }}
{{- end }}

{{/* Name of the KEDA TriggerAuthentication for a secured Kafka. */}}
{{- define "streamvision.triggerAuthenticationName" -}}
{{- printf "%s-kafka" (include "streamvision.fullname" .) }}
{{- end }}

{{/*
Checks of combinations the schema cannot express; rendering stops with the message.
*/}}
{{- define "streamvision.validate" -}}
{{- $v := .Values }}
{{- range $name := splitList " " (include "streamvision.components" $) }}
{{- $c := index $v $name }}
{{- if and $c.enabled $c.autoscaling.enabled $c.keda.enabled }}
{{- fail (printf "%s: autoscaling.enabled and keda.enabled are both true; a KEDA ScaledObject creates its own HorizontalPodAutoscaler, so enable only one of them" $name) }}
{{- end }}
{{- end }}
{{- $sec := $v.kafka.security }}
{{- if include "streamvision.kafkaSasl" $ }}
{{- if not $sec.sasl.existingSecret }}
{{- fail (printf "kafka.security.protocol %s needs kafka.security.sasl.existingSecret (the Secret with the password, e.g. the Strimzi KafkaUser's Secret)" $sec.protocol) }}
{{- end }}
{{- if and (not $sec.sasl.jaasConfigKey) (not $sec.sasl.username) }}
{{- fail "kafka.security.sasl.username is required unless kafka.security.sasl.jaasConfigKey names a complete JAAS configuration" }}
{{- end }}
{{- end }}
{{- if and (not (include "streamvision.kafkaTls" $)) (or $sec.tls.truststore.existingSecret $sec.tls.keystore.existingSecret) }}
{{- fail (printf "kafka.security.tls is set but kafka.security.protocol %s does not use TLS; use SSL or SASL_SSL" $sec.protocol) }}
{{- end }}
{{- if include "streamvision.kafkaSasl" $ }}
{{- range $name := splitList " " (include "streamvision.components" $) }}
{{- $c := index $v $name }}
{{- if and $c.enabled $c.keda.enabled (not $sec.sasl.username) }}
{{- fail (printf "%s: KEDA's Kafka scaler needs kafka.security.sasl.username with %s" $name $sec.protocol) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and $v.captioning.enabled (not $v.scoring.enabled) (not $v.captioning.scoringService.host) }}
{{- fail "captioning needs the scoring service: enable scoring or set captioning.scoringService.host" }}
{{- end }}
{{- end }}

{{/* Where the endpoint TLS Secret is mounted. */}}
{{- define "streamvision.tlsDir" -}}
/etc/streamvision/tls
{{- end }}

{{/* The container port the kubelet probes and Prometheus scrapes: management where the service has one. */}}
{{- define "streamvision.healthPort" -}}
{{- ternary "management" "http" (not (empty .c.ports.management)) }}
{{- end }}

{{/* The Secrets of endpoint TLS and tokens one service mounts, as (name, secret, path) lines. */}}
{{- define "streamvision.securitySecrets" -}}
{{- $v := .root.Values }}
{{- if has .name (list "scoring" "captioning") }}
{{- with $v.tls.secretName }}
- {name: endpoint-tls, secret: {{ . }}, path: {{ include "streamvision.tlsDir" $.root }}}
{{- end }}
{{- if $v.auth.enabled }}
{{- with $v.auth.jwt.secretName }}
- {name: auth-jwt, secret: {{ . }}, path: /etc/streamvision/auth/jwt}
{{- end }}
{{- with $v.auth.apiKeys.secretName }}
- {name: auth-api-keys, secret: {{ . }}, path: /etc/streamvision/auth/api-keys}
{{- end }}
{{- end }}
{{- if eq .name "captioning" }}
{{- with $v.auth.captioningToken.secretName }}
- {name: scoring-token, secret: {{ . }}, path: /etc/streamvision/auth/scoring-token}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* Volumes of those Secrets. */}}
{{- define "streamvision.securityVolumes" -}}
{{- range (include "streamvision.securitySecrets" . | fromYamlArray) }}
- name: {{ .name }}
  secret:
    secretName: {{ .secret }}
{{- end }}
{{- end }}

{{/* Read-only mounts of those Secrets. */}}
{{- define "streamvision.securityVolumeMounts" -}}
{{- range (include "streamvision.securitySecrets" . | fromYamlArray) }}
- name: {{ .name }}
  mountPath: {{ .path }}
  readOnly: true
{{- end }}
{{- end }}
