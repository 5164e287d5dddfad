package io.streamvision.helm;

import static io.streamvision.helm.Chart.COMPONENTS;
import static io.streamvision.helm.Chart.chart;
import static io.streamvision.helm.Chart.fullname;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * HorizontalPodAutoscalers on CPU, KEDA ScaledObjects on consumer lag, and never both for one
 * service.
 */
class AutoscalingTest {

    @ParameterizedTest
    @CsvSource({"preprocess, 2, 6, 70", "scoring, 1, 4, 80", "captioning, 1, 3, 60"})
    void hpaScalesTheServicesDeploymentOnCpu(String component, int min, int max, int cpuTarget) {
        Manifests rendered = chart().values("hpa.yaml").render();
        JsonNode hpa = rendered.get("HorizontalPodAutoscaler", fullname(component));

        assertEquals("autoscaling/v2", hpa.path("apiVersion").asText());
        assertEquals("Deployment", hpa.at("/spec/scaleTargetRef/kind").asText());
        assertEquals(
                rendered.deployment(component).at("/metadata/name").asText(),
                hpa.at("/spec/scaleTargetRef/name").asText());
        assertEquals(min, hpa.at("/spec/minReplicas").asInt());
        assertEquals(max, hpa.at("/spec/maxReplicas").asInt());
        assertEquals("cpu", hpa.at("/spec/metrics/0/resource/name").asText());
        assertEquals(
                cpuTarget,
                hpa.at("/spec/metrics/0/resource/target/averageUtilization").asInt());
        assertTrue(rendered.deployment(component).at("/spec/replicas").isMissingNode(), "replicas left to the HPA");
        assertEquals(List.of(), rendered.ofKind("ScaledObject"));
    }

    @Test
    void kedaScalesEachServiceOnItsConsumerGroupsLag() {
        Manifests rendered = chart().values("keda.yaml").render();

        assertEquals(List.of(), rendered.ofKind("HorizontalPodAutoscaler"));
        assertEquals(List.of(), rendered.ofKind("TriggerAuthentication"), "no credentials for PLAINTEXT");
        for (String component : COMPONENTS) {
            JsonNode scaledObject = rendered.get("ScaledObject", fullname(component));
            assertEquals("keda.sh/v1alpha1", scaledObject.path("apiVersion").asText());
            assertEquals(
                    fullname(component),
                    scaledObject.at("/spec/scaleTargetRef/name").asText());
            assertTrue(rendered.deployment(component).at("/spec/replicas").isMissingNode(), "replicas left to KEDA");
            for (JsonNode trigger : scaledObject.at("/spec/triggers")) {
                assertEquals("kafka", trigger.path("type").asText());
                assertEquals(
                        "my-cluster-kafka-bootstrap.kafka.svc:9092",
                        trigger.at("/metadata/bootstrapServers").asText());
                assertTrue(trigger.path("authenticationRef").isMissingNode());
            }
        }

        JsonNode preprocess = rendered.get("ScaledObject", fullname("preprocess"));
        assertEquals(1, preprocess.at("/spec/minReplicaCount").asInt());
        assertEquals(6, preprocess.at("/spec/maxReplicaCount").asInt());
        assertEquals(
                List.of(
                        "vision-preprocess-staging/vision.images.v1-staging/40",
                        "vision-preprocess-staging/vision.videos.v1-staging/40"),
                triggers(preprocess));

        JsonNode scoring = rendered.get("ScaledObject", fullname("scoring"));
        assertEquals(0, scoring.at("/spec/minReplicaCount").asInt());
        assertEquals(8, scoring.at("/spec/maxReplicaCount").asInt());
        assertEquals(
                List.of("vision-scoring/*/64"),
                triggers(scoring),
                "every vision.tensors.<model>.v1 topic of the group");

        JsonNode captioning = rendered.get("ScaledObject", fullname("captioning"));
        assertEquals(
                List.of("captions-staging/vision.features.v1-staging/20"),
                triggers(captioning),
                "group from vision.captioning.kafka.group-id");
    }

    @Test
    void preprocessGroupIsItsKafkaStreamsApplicationId() throws IOException {
        Properties properties = new Properties();
        try (var in =
                Files.newBufferedReader(Path.of("../services/preprocess/src/main/resources/application.properties"))) {
            properties.load(in);
        }
        String applicationId = properties
                .getProperty("quarkus.kafka-streams.application-id")
                .replace("${vision.kafka.topic-suffix:}", "-blue");

        JsonNode scaledObject = chart().set("kafka.topics.suffix", "-blue")
                .set("preprocess.keda.enabled", true)
                .render()
                .get("ScaledObject", fullname("preprocess"));

        assertEquals(
                applicationId,
                scaledObject.at("/spec/triggers/0/metadata/consumerGroup").asText());
    }

    @Test
    void kedaAuthenticatesWithTheServicesKafkaCredentials() {
        Manifests rendered = chart().values("sasl-ssl.yaml")
                .set("scoring.keda.enabled", true)
                .render();

        JsonNode trigger = rendered.get("ScaledObject", fullname("scoring")).at("/spec/triggers/0");
        assertEquals("scram_sha512", trigger.at("/metadata/sasl").asText());
        assertEquals("enable", trigger.at("/metadata/tls").asText());
        String authName = trigger.at("/authenticationRef/name").asText();
        JsonNode auth = rendered.get("TriggerAuthentication", authName);
        assertEquals("SASL_USERNAME", auth.at("/spec/env/0/name").asText());
        assertTrue(rendered.env("scoring").containsKey("SASL_USERNAME"), "KEDA reads the user name from the pod");
        List<String> refs = new ArrayList<>();
        auth.at("/spec/secretTargetRef")
                .forEach(r -> refs.add(r.path("parameter").asText()
                        + "="
                        + r.path("name").asText()
                        + "/"
                        + r.path("key").asText()));
        assertEquals(List.of("password=vision/password", "ca=my-cluster-cluster-ca-cert/ca.crt"), refs);
    }

    @Test
    void refusesHpaAndKedaForTheSameService() {
        Exception e = assertThrows(
                Exception.class,
                () -> chart().set("captioning.autoscaling.enabled", true)
                        .set("captioning.keda.enabled", true)
                        .render());
        assertTrue(
                e.getMessage().contains("captioning: autoscaling.enabled and keda.enabled are both true"),
                e::getMessage);
    }

    @Test
    void allowsHpaForOneServiceAndKedaForAnother() {
        Manifests rendered = chart().set("preprocess.autoscaling.enabled", true)
                .set("scoring.keda.enabled", true)
                .render();
        assertEquals(
                fullname("preprocess"),
                rendered.ofKind("HorizontalPodAutoscaler")
                        .get(0)
                        .at("/metadata/name")
                        .asText());
        assertEquals(
                fullname("scoring"),
                rendered.ofKind("ScaledObject").get(0).at("/metadata/name").asText());
        assertEquals(1, rendered.ofKind("HorizontalPodAutoscaler").size());
        assertEquals(1, rendered.ofKind("ScaledObject").size());
    }

    /**
     * "group/topic/lagThreshold" of each trigger; "*" for a trigger on every topic of the group.
     */
    private static List<String> triggers(JsonNode scaledObject) {
        List<String> triggers = new ArrayList<>();
        for (JsonNode trigger : scaledObject.at("/spec/triggers")) {
            JsonNode metadata = trigger.path("metadata");
            triggers.add(metadata.path("consumerGroup").asText()
                    + "/"
                    + metadata.path("topic").asText("*")
                    + "/"
                    + metadata.path("lagThreshold").asText());
        }
        return triggers;
    }
}
