package io.streamvision.helm;

import static io.streamvision.helm.Chart.COMPONENTS;
import static io.streamvision.helm.Chart.chart;
import static io.streamvision.helm.Chart.fullname;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What the chart gives a replicated production cluster by default (replication 3, min ISR 2, two
 * pods per service with a disruption budget, spread over nodes and zones, a grace period that
 * covers a transaction, standby stores), and the Strimzi option that manages topics and users as
 * resources instead.
 */
class ProductionDefaultsTest {

    private static final Manifests DEFAULTS = chart().render();

    @ParameterizedTest
    @ValueSource(strings = {"preprocess", "scoring", "captioning"})
    void topicsAreReplicatedThreeTimesWithTwoInSync(String component) {
        Map<String, String> config = DEFAULTS.config(component);
        assertEquals("3", config.get("VISION_KAFKA_REPLICATION_FACTOR"));
        assertEquals("2", config.get("VISION_KAFKA_MIN_INSYNC_REPLICAS"));
        assertEquals(
                component.equals("captioning") ? "1" : null,
                config.get("VISION_CAPTIONING_STANDBY_REPLICAS"),
                "captioning keeps a standby copy of its stores");
    }

    @ParameterizedTest
    @ValueSource(strings = {"preprocess", "scoring", "captioning"})
    void podsSurviveADrainAndSpreadOverNodesAndZones(String component) {
        JsonNode pdb = DEFAULTS.ofComponent("PodDisruptionBudget", component);
        assertEquals(1, pdb.at("/spec/minAvailable").asInt());
        Manifests.assertSelects(
                pdb.at("/spec/selector/matchLabels"),
                DEFAULTS.deployment(component).at("/spec/template/metadata/labels"),
                component);

        JsonNode spread = DEFAULTS.podSpec(component).path("topologySpreadConstraints");
        Set<String> keys = new HashSet<>();
        for (JsonNode c : spread) {
            keys.add(c.path("topologyKey").asText());
            assertEquals("ScheduleAnyway", c.path("whenUnsatisfiable").asText());
            Manifests.assertSelects(
                    c.at("/labelSelector/matchLabels"),
                    DEFAULTS.deployment(component).at("/spec/template/metadata/labels"),
                    component);
        }
        assertEquals(Set.of("kubernetes.io/hostname", "topology.kubernetes.io/zone"), keys);
    }

    @ParameterizedTest
    @ValueSource(strings = {"preprocess", "scoring", "captioning"})
    void stopsAfterServicesStopRoutingAndWithTimeToCommit(String component) {
        JsonNode pod = DEFAULTS.podSpec(component);
        assertEquals(60, pod.path("terminationGracePeriodSeconds").asInt());
        assertEquals(List.of("sleep", "5"), texts(DEFAULTS.container(component).at("/lifecycle/preStop/exec/command")));
    }

    @Test
    void aOneBrokerDevelopmentClusterTurnsReplicationDown() {
        Manifests dev = chart().set("kafka.topics.replicationFactor", 1)
                .set("kafka.topics.minInsyncReplicas", 0)
                .set("captioning.standbyReplicas", 0)
                .set("scoring.preStopSleepSeconds", 0)
                .set("topologySpread.enabled", false)
                .render();
        assertEquals("1", dev.config("scoring").get("VISION_KAFKA_REPLICATION_FACTOR"));
        assertFalse(dev.config("scoring").containsKey("VISION_KAFKA_MIN_INSYNC_REPLICAS"));
        assertEquals("0", dev.config("captioning").get("VISION_CAPTIONING_STANDBY_REPLICAS"));
        assertTrue(dev.container("scoring").path("lifecycle").isMissingNode());
        assertTrue(dev.podSpec("scoring").path("topologySpreadConstraints").isMissingNode());
    }

    @Test
    void strimziManagesTopicsAndUsersInsteadOfTheServices() {
        Manifests m = chart().set("kafka.strimzi.topics", true)
                .set("kafka.strimzi.users", true)
                .set("kafka.strimzi.clusterName", "prod")
                .set("kafka.topics.suffix", ".blue")
                .render();
        List<String> topics = new ArrayList<>();
        for (JsonNode t : m.ofKind("KafkaTopic")) {
            assertEquals("prod", t.at("/metadata/labels/strimzi.io~1cluster").asText());
            assertEquals(3, t.at("/spec/replicas").asInt());
            assertEquals("2", t.at("/spec/config/min.insync.replicas").asText());
            assertEquals("16777216", t.at("/spec/config/max.message.bytes").asText());
            assertTrue(t.at("/metadata/name").asText().matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?"), t.toString());
            topics.add(t.at("/spec/topicName").asText());
        }
        assertTrue(
                topics.containsAll(
                        List.of("vision.images.v1.blue", "vision.results.v1.blue", "vision.tensors.centernet.v1.blue")),
                topics.toString());
        assertEquals(13, topics.size(), topics.toString());
        for (String component : COMPONENTS) {
            assertEquals("false", m.config(component).get("VISION_KAFKA_CREATE_TOPICS"), "the operator creates them");
            JsonNode user = m.get("KafkaUser", fullname(component));
            assertEquals("scram-sha-512", user.at("/spec/authentication/type").asText());
            assertTrue(user.at("/spec/authorization/acls").size() >= 5, user.toString());
        }
        JsonNode scoring = m.get("KafkaUser", fullname("scoring"));
        boolean transactions = false;
        for (JsonNode acl : scoring.at("/spec/authorization/acls")) {
            transactions |= acl.at("/resource/type").asText().equals("transactionalId")
                    && acl.at("/resource/name").asText().equals("vision-scoring-")
                    && acl.at("/resource/patternType").asText().equals("prefix");
        }
        assertTrue(transactions, "scoring may use its per-process transactional ids");
        assertEquals(0, DEFAULTS.ofKind("KafkaTopic").size(), "off by default");
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
