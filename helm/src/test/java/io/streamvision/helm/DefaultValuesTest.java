package io.streamvision.helm;

import static io.streamvision.helm.Chart.COMPONENTS;
import static io.streamvision.helm.Chart.chart;
import static io.streamvision.helm.Chart.fullname;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The chart rendered with its own values.yaml. */
class DefaultValuesTest {

    private static Manifests manifests;

    @BeforeAll
    static void render() {
        manifests = chart().render();
    }

    @Test
    void rendersADeploymentServiceAndConfigMapPerServiceAndNothingElse() {
        assertEquals(
                Map.of("ConfigMap", 3, "Deployment", 3, "PodDisruptionBudget", 3, "Service", 3, "ServiceAccount", 1),
                manifests.kindCounts());
        for (String component : COMPONENTS) {
            manifests.get("Deployment", fullname(component));
            manifests.get("Service", fullname(component));
            manifests.get("ConfigMap", fullname(component));
        }
    }

    @ParameterizedTest
    @CsvSource({"preprocess, 8081, 0, 0", "scoring, 8082, 8001, 8092", "captioning, 8083, 8003, 8093"})
    void containersAndServicesExposeTheServicePorts(String component, int http, int grpc, int management) {
        assertEquals(http, manifests.containerPort(component, "http"));
        assertEquals(String.valueOf(http), manifests.config(component).get("QUARKUS_HTTP_PORT"));

        List<String> servicePorts = new ArrayList<>();
        for (JsonNode port : manifests.get("Service", fullname(component)).at("/spec/ports")) {
            servicePorts.add(port.path("name").asText()
                    + ":"
                    + port.path("port").asInt()
                    + "->"
                    + port.path("targetPort").asText()
                    + "/"
                    + port.path("appProtocol").asText());
        }
        if (grpc == 0) {
            assertTrue(manifests.container(component).path("ports").findValuesAsText("name").stream()
                    .noneMatch("grpc"::equals));
            assertFalse(manifests.config(component).containsKey("QUARKUS_GRPC_SERVER_PORT"));
            assertEquals(List.of("http:" + http + "->http/http"), servicePorts);
        } else {
            assertEquals(grpc, manifests.containerPort(component, "grpc"));
            assertEquals(String.valueOf(grpc), manifests.config(component).get("QUARKUS_GRPC_SERVER_PORT"));
            assertEquals(management, manifests.containerPort(component, "management"));
            assertEquals(String.valueOf(management), manifests.config(component).get("QUARKUS_MANAGEMENT_PORT"));
            assertEquals(
                    List.of(
                            "http:" + http + "->http/http",
                            "grpc:" + grpc + "->grpc/grpc",
                            "management:" + management + "->management/http"),
                    servicePorts);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"preprocess", "scoring", "captioning"})
    void probesUseQuarkusHealthOnTheManagementPort(String component) {
        JsonNode container = manifests.container(component);
        assertEquals(
                "/q/health/live", container.at("/livenessProbe/httpGet/path").asText());
        assertEquals(
                "/q/health/ready", container.at("/readinessProbe/httpGet/path").asText());
        assertEquals(
                "/q/health/started", container.at("/startupProbe/httpGet/path").asText());
        for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
            // preprocess has no API: its HTTP port is its management port.
            assertEquals(
                    component.equals("preprocess") ? "http" : "management",
                    container.at("/" + probe + "/httpGet/port").asText(),
                    probe);
            assertTrue(container.at("/" + probe + "/periodSeconds").asInt() > 0, probe);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"preprocess", "scoring", "captioning"})
    void configMapCarriesTheBrokerAndTheModelsDirectory(String component) {
        Map<String, String> config = manifests.config(component);
        assertEquals(Chart.defaultValue("/kafka/bootstrapServers").asText(), config.get("KAFKA_BOOTSTRAP_SERVERS"));
        assertEquals("PLAINTEXT", config.get("KAFKA_SECURITY_PROTOCOL"));
        assertEquals("/models", config.get("VISION_MODELS_DIR"));
        if (component.equals("preprocess")) {
            // Photographs go to the COCO detector as well as to the demo models.
            assertEquals("centernet,fashion-cnn,caption-encoder", config.get("VISION_PREPROCESS_DEFAULT_MODELS"));
        }
        assertEquals("true", config.get("VISION_KAFKA_CREATE_TOPICS"));
        assertEquals("protobuf", config.get("VISION_KAFKA_OUTPUT_FORMAT"));
        assertEquals(null, config.get("QUARKUS_OTEL_SDK_DISABLED"), "tracing stays off (the services' default)");
        if (component.equals("captioning")) {
            assertEquals(
                    "preprocess=http://" + fullname("preprocess") + ":8081/q/health/ready,scoring=http://"
                            + fullname("scoring")
                            + ":8092/q/health/ready,captioning=http://localhost:8093/q/health/ready",
                    config.get("VISION_CAPTIONING_CONSOLE_SERVICES"),
                    "the console asks the release's Services");
            assertEquals(
                    "http://" + fullname("scoring") + ":8082",
                    config.get("VISION_CAPTIONING_CONSOLE_SCORING_URL"),
                    "the rollouts panel asks the release's scoring Service");
            assertEquals(
                    "vision-preprocess,vision-preprocess-videos,vision-preprocess-videos-segments,vision-scoring,"
                            + "vision-captioning,vision-results",
                    config.get("VISION_CAPTIONING_CONSOLE_LAG_GROUPS"));
        }

        JsonNode container = manifests.container(component);
        assertEquals(
                fullname(component),
                container.at("/envFrom/0/configMapRef/name").asText());
        JsonNode models = manifests.volumeMount(component, "models");
        assertEquals("/models", models.path("mountPath").asText());
        assertTrue(models.path("readOnly").asBoolean());
    }

    @Test
    void captioningCallsTheScoringServiceOnItsGrpcPort() {
        Map<String, String> config = manifests.config("captioning");
        JsonNode scoring = manifests.get("Service", fullname("scoring"));

        assertEquals(scoring.at("/metadata/name").asText(), config.get("QUARKUS_GRPC_CLIENTS_SCORING_HOST"));
        assertEquals("8001", config.get("QUARKUS_GRPC_CLIENTS_SCORING_PORT"));
        assertEquals("grpc", scoring.at("/spec/ports/1/name").asText());
        assertEquals(8001, scoring.at("/spec/ports/1/port").asInt());
    }

    @Test
    void captioningAdvertisesItsPodAddressForInteractiveQueries() {
        JsonNode env = manifests.container("captioning").path("env");
        String podIp = null;
        String advertised = null;
        for (JsonNode e : env) {
            if (e.path("name").asText().equals("POD_IP")) {
                podIp = e.at("/valueFrom/fieldRef/fieldPath").asText();
            }
            if (e.path("name").asText().equals("VISION_ADVERTISED_ENDPOINT")) {
                advertised = e.path("value").asText();
            }
        }
        assertEquals("status.podIP", podIp);
        assertEquals("$(POD_IP):8083", advertised);
        for (JsonNode e : manifests.container("scoring").path("env")) {
            assertTrue(!e.path("name").asText().equals("VISION_ADVERTISED_ENDPOINT"), "only captioning queries");
        }
    }

    @Test
    void eachServiceSelectsExactlyItsOwnDeploymentsPods() {
        for (String component : COMPONENTS) {
            JsonNode selector = manifests.get("Service", fullname(component)).at("/spec/selector");
            for (String other : COMPONENTS) {
                JsonNode podLabels = manifests.deployment(other).at("/spec/template/metadata/labels");
                assertEquals(
                        component.equals(other),
                        Manifests.selects(selector, podLabels),
                        "Service " + component + " selecting pods of " + other);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"preprocess", "scoring", "captioning"})
    void deploymentSelectorMatchesItsPodTemplate(String component) {
        JsonNode deployment = manifests.deployment(component);
        Manifests.assertSelects(
                deployment.at("/spec/selector/matchLabels"),
                deployment.at("/spec/template/metadata/labels"),
                component);
        assertEquals(
                component,
                deployment
                        .at("/spec/template/metadata/labels/app.kubernetes.io~1component")
                        .asText());
        assertEquals(2, deployment.at("/spec/replicas").asInt(), "two pods, so one can be lost or replaced");
    }

    @Test
    void runsOnCpuWithoutAutoscalersByDefault() {
        for (String component : COMPONENTS) {
            JsonNode container = manifests.container(component);
            assertTrue(container.at("/resources/limits/nvidia.com~1gpu").isMissingNode(), component);
            assertTrue(manifests.podSpec(component).path("runtimeClassName").isMissingNode(), component);
            assertEquals(
                    "docker.io/streamvision/" + component + ":" + Chart.appVersion(),
                    container.path("image").asText());
            assertFalse(manifests.config(component).containsKey("VISION_SCORING_EXECUTION_PROVIDER"), component);
        }
        for (String kind : List.of(
                "HorizontalPodAutoscaler",
                "ScaledObject",
                "TriggerAuthentication",
                "ServiceMonitor",
                "KafkaTopic",
                "KafkaUser")) {
            assertEquals(List.of(), manifests.ofKind(kind), kind);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"preprocess", "scoring", "captioning"})
    void containersRunHardenedWithAWritableTmp(String component) {
        JsonNode pod = manifests.podSpec(component);
        JsonNode security = manifests.container(component).path("securityContext");
        assertTrue(pod.at("/securityContext/runAsNonRoot").asBoolean());
        assertEquals(185, pod.at("/securityContext/runAsUser").asInt());
        assertTrue(security.path("runAsNonRoot").asBoolean());
        assertTrue(security.path("readOnlyRootFilesystem").asBoolean());
        assertFalse(security.path("allowPrivilegeEscalation").asBoolean(true));
        assertEquals("ALL", security.at("/capabilities/drop/0").asText());
        assertEquals(1, security.at("/capabilities/drop").size());
        assertEquals(
                "/tmp",
                manifests.volumeMount(component, "tmp").path("mountPath").asText());
        assertTrue(manifests.volume(component, "tmp").has("emptyDir"));
        String serviceAccount = manifests
                .get("ServiceAccount", Chart.RELEASE + "-streamvision")
                .at("/metadata/name")
                .asText();
        assertEquals(serviceAccount, pod.path("serviceAccountName").asText());
        assertFalse(pod.path("automountServiceAccountToken").asBoolean(true));
    }

    @Test
    void changingAServicesConfigRollsOnlyItsPods() {
        Manifests changed =
                chart().set("scoring.config.vision\\.scoring\\.top-k", 3).render();

        assertEquals("3", changed.config("scoring").get("VISION_SCORING_TOP_K"));
        assertNotEquals(checksum(manifests, "scoring"), checksum(changed, "scoring"));
        assertEquals(checksum(manifests, "preprocess"), checksum(changed, "preprocess"));
        assertEquals(checksum(manifests, "captioning"), checksum(changed, "captioning"));
    }

    @Test
    void sharedConfigReachesEveryServiceAndAServicesOwnConfigWins() {
        Manifests rendered = chart().set("config.quarkus\\.log\\.level", "DEBUG")
                .set("captioning.config.quarkus\\.log\\.level", "WARN")
                .set("preprocess.config.kafka-streams\\.num\\.stream\\.threads", 4)
                .render();

        assertEquals("DEBUG", rendered.config("preprocess").get("QUARKUS_LOG_LEVEL"));
        assertEquals("DEBUG", rendered.config("scoring").get("QUARKUS_LOG_LEVEL"));
        assertEquals("WARN", rendered.config("captioning").get("QUARKUS_LOG_LEVEL"));
        assertEquals("4", rendered.config("preprocess").get("KAFKA_STREAMS_NUM_STREAM_THREADS"));
    }

    @Test
    void imageComesFromSplitValues() {
        Manifests rendered = chart().set("image.registry", "registry.example.com")
                .set("image.tag", "1.0.0")
                .set("scoring.image.tag", "1.0.1")
                .set("captioning.image.digest", "sha256:" + "a".repeat(64))
                .set("preprocess.image.pullPolicy", "Always")
                .set("imagePullSecrets[0].name", "regcred")
                .render();

        // Per component: the image reference and the pull policy it gets.
        Map<String, List<String>> expected = Map.of(
                "preprocess", List.of("registry.example.com/streamvision/preprocess:1.0.0", "Always"),
                "scoring", List.of("registry.example.com/streamvision/scoring:1.0.1", "IfNotPresent"),
                "captioning",
                        List.of(
                                "registry.example.com/streamvision/captioning@sha256:" + "a".repeat(64),
                                "IfNotPresent"));
        for (String component : COMPONENTS) {
            JsonNode container = rendered.container(component);
            assertEquals(expected.get(component).get(0), container.path("image").asText(), component);
            assertEquals(
                    expected.get(component).get(1),
                    container.path("imagePullPolicy").asText(),
                    component);
            assertEquals(
                    "regcred",
                    rendered.podSpec(component).at("/imagePullSecrets/0/name").asText());
        }
    }

    private static String checksum(Manifests m, String component) {
        return m.deployment(component)
                .at("/spec/template/metadata/annotations/checksum~1config")
                .asText();
    }
}
