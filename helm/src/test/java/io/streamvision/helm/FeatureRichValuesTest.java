package io.streamvision.helm;

import static io.streamvision.helm.Chart.COMPONENTS;
import static io.streamvision.helm.Chart.chart;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * full.yaml: name overrides, PodDisruptionBudgets, the ServiceMonitor and the scheduling settings.
 */
class FeatureRichValuesTest {

    private static Manifests manifests;

    @BeforeAll
    static void render() {
        manifests = chart().values("full.yaml").render();
    }

    @Test
    void fullnameOverrideNamesEveryResource() {
        for (String component : COMPONENTS) {
            manifests.get("Deployment", "vision-" + component);
            manifests.get("Service", "vision-" + component);
            manifests.get("ConfigMap", "vision-" + component);
            manifests.get("ServiceMonitor", "vision-" + component);
        }
        assertEquals("vision-scoring", config("captioning").get("QUARKUS_GRPC_CLIENTS_SCORING_HOST"));
        manifests.get("ServiceAccount", "vision");
    }

    @Test
    void podDisruptionBudgetsProtectTheirOwnPods() {
        assertEquals(1, pdb("preprocess").at("/spec/maxUnavailable").asInt());
        assertTrue(pdb("preprocess").at("/spec/minAvailable").isMissingNode());
        assertEquals(1, pdb("scoring").at("/spec/minAvailable").asInt());
        assertEquals("50%", pdb("captioning").at("/spec/minAvailable").asText());
        for (String component : COMPONENTS) {
            JsonNode selector = pdb(component).at("/spec/selector/matchLabels");
            for (String other : COMPONENTS) {
                JsonNode podLabels = manifests.deployment(other).at("/spec/template/metadata/labels");
                assertEquals(
                        component.equals(other),
                        Manifests.selects(selector, podLabels),
                        component + " PDB on " + other);
            }
        }
    }

    @Test
    void serviceMonitorScrapesQuarkusMetricsOfEveryService() {
        for (String component : COMPONENTS) {
            JsonNode monitor = manifests.get("ServiceMonitor", "vision-" + component);
            assertEquals("monitoring.coreos.com/v1", monitor.path("apiVersion").asText());
            assertEquals("prometheus", monitor.at("/metadata/labels/release").asText());
            // Health and metrics: the management port, or preprocess's only (HTTP) port.
            assertEquals(
                    component.equals("preprocess") ? "http" : "management",
                    monitor.at("/spec/endpoints/0/port").asText());
            assertEquals("/q/metrics", monitor.at("/spec/endpoints/0/path").asText());
            assertEquals(
                    Chart.NAMESPACE,
                    monitor.at("/spec/namespaceSelector/matchNames/0").asText());
            JsonNode service = manifests.get("Service", "vision-" + component);
            Manifests.assertSelects(
                    monitor.at("/spec/selector/matchLabels"), service.at("/metadata/labels"), component);
            for (String other : COMPONENTS) {
                if (!other.equals(component)) {
                    assertFalse(Manifests.selects(
                            monitor.at("/spec/selector/matchLabels"),
                            manifests.get("Service", "vision-" + other).at("/metadata/labels")));
                }
            }
        }
    }

    @Test
    void schedulingAndPodSettingsReachThePods() {
        JsonNode preprocess = manifests.deployment("preprocess").at("/spec/template");
        assertEquals(
                "vision",
                preprocess.at("/metadata/annotations/example.com~1owner").asText());
        assertEquals(
                "kubernetes.io/hostname",
                preprocess.at("/spec/topologySpreadConstraints/0/topologyKey").asText());

        JsonNode scoring = manifests.podSpec("scoring");
        assertEquals("high-priority", scoring.path("priorityClassName").asText());
        assertEquals(
                "nvidia.com/gpu.product",
                scoring.at(
                                "/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0/matchExpressions/0/key")
                        .asText());

        JsonNode captioning = manifests.podSpec("captioning");
        assertEquals("dedicated", captioning.at("/tolerations/0/key").asText());
        assertEquals("1", manifests.env("captioning").get("EXTRA").path("value").asText());
        assertEquals(
                "LoadBalancer",
                manifests.get("Service", "vision-captioning").at("/spec/type").asText());
        assertEquals(
                "internal",
                manifests
                        .get("Service", "vision-captioning")
                        .at("/metadata/annotations/example.com~1lb")
                        .asText());
        for (JsonNode object : manifests.objects()) {
            assertEquals(
                    "vision",
                    object.at("/metadata/labels/team").asText(),
                    () -> "commonLabels on " + object.at("/metadata"));
        }
        assertEquals(
                "registry.example.com/streamvision/scoring:1.2.3-cuda",
                manifests.container("scoring").path("image").asText());
        assertEquals("false", config("preprocess").get("VISION_KAFKA_CREATE_TOPICS"));
        assertEquals("-prod", config("preprocess").get("VISION_KAFKA_TOPIC_SUFFIX"));
        for (String component : List.of("preprocess", "scoring", "captioning")) {
            assertEquals("json", config(component).get("VISION_KAFKA_OUTPUT_FORMAT"), component);
            Map<String, String> config = config(component);
            assertEquals("false", config.get("QUARKUS_OTEL_SDK_DISABLED"), component);
            assertEquals(
                    "http://otel-collector.observability:4317",
                    config.get("QUARKUS_OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
                    component);
            assertEquals("grpc", config.get("QUARKUS_OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"));
            assertEquals("parentbased_traceidratio", config.get("QUARKUS_OTEL_TRACES_SAMPLER"));
            assertEquals("0.25", config.get("QUARKUS_OTEL_TRACES_SAMPLER_ARG"));
        }
        assertEquals("12", config("preprocess").get("VISION_KAFKA_PARTITIONS"));
        assertEquals("3", config("preprocess").get("VISION_KAFKA_REPLICATION_FACTOR"));
    }

    private static JsonNode pdb(String component) {
        return manifests.get("PodDisruptionBudget", "vision-" + component);
    }

    private static Map<String, String> config(String component) {
        return manifests.config(component);
    }
}
