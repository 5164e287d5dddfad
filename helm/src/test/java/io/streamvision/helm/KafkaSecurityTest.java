package io.streamvision.helm;

import static io.streamvision.helm.Chart.COMPONENTS;
import static io.streamvision.helm.Chart.chart;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Kafka security from existing Secrets (Strimzi's KafkaUser and cluster CA Secrets): the Kafka
 * client properties as kafka.* environment variables, the same for Kafka Streams as
 * quarkus.kafka-streams.* in the services that run a topology, stores mounted from the Secrets.
 */
class KafkaSecurityTest {

    private static final String TRUSTSTORE_DIR = "/etc/streamvision/kafka/truststore";
    private static final String KEYSTORE_DIR = "/etc/streamvision/kafka/keystore";

    @Test
    void saslSslWithScramFromTheKafkaUserSecret() {
        Manifests rendered = chart().values("sasl-ssl.yaml").render();

        for (String component : COMPONENTS) {
            Map<String, String> config = rendered.config(component);
            assertEquals("my-cluster-kafka-bootstrap:9093", config.get("KAFKA_BOOTSTRAP_SERVERS"));
            assertEquals("SASL_SSL", config.get("KAFKA_SECURITY_PROTOCOL"));
            assertEquals("SCRAM-SHA-512", config.get("KAFKA_SASL_MECHANISM"));
            assertEquals("PEM", config.get("KAFKA_SSL_TRUSTSTORE_TYPE"));
            assertEquals(TRUSTSTORE_DIR + "/ca.crt", config.get("KAFKA_SSL_TRUSTSTORE_LOCATION"));

            Map<String, JsonNode> env = rendered.env(component);
            assertEquals("vision", env.get("SASL_USERNAME").path("value").asText());
            assertSecretRef(env.get("SASL_PASSWORD"), "vision", "password");
            String jaas = env.get("KAFKA_SASL_JAAS_CONFIG").path("value").asText();
            assertEquals(
                    "org.apache.kafka.common.security.scram.ScramLoginModule required "
                            + "username=\"$(SASL_USERNAME)\" password=\"$(SASL_PASSWORD)\";",
                    jaas);
            List<String> order = new ArrayList<>(env.keySet());
            assertTrue(
                    order.indexOf("SASL_PASSWORD") < order.indexOf("KAFKA_SASL_JAAS_CONFIG"),
                    "Kubernetes expands $(SASL_PASSWORD) only when it is defined earlier: " + order);

            rendered.assertSecretMount(component, "kafka-truststore", "my-cluster-cluster-ca-cert", TRUSTSTORE_DIR);
        }
    }

    @Test
    void kafkaStreamsGetsTheSameSecurityWhereATopologyRuns() {
        Manifests rendered = chart().values("sasl-ssl.yaml").render();

        for (String component : List.of("preprocess", "captioning")) {
            Map<String, String> config = rendered.config(component);
            assertEquals("SASL_SSL", config.get("QUARKUS_KAFKA_STREAMS_SECURITY_PROTOCOL"));
            assertEquals("SCRAM-SHA-512", config.get("QUARKUS_KAFKA_STREAMS_SASL_MECHANISM"));
            assertEquals("PEM", config.get("QUARKUS_KAFKA_STREAMS_SSL_TRUSTSTORE_TYPE"));
            assertEquals(TRUSTSTORE_DIR + "/ca.crt", config.get("QUARKUS_KAFKA_STREAMS_SSL_TRUSTSTORE_LOCATION"));
            assertEquals(
                    "$(KAFKA_SASL_JAAS_CONFIG)",
                    rendered.env(component)
                            .get("QUARKUS_KAFKA_STREAMS_SASL_JAAS_CONFIG")
                            .path("value")
                            .asText());
        }
        assertTrue(
                rendered.config("scoring").keySet().stream().noneMatch(k -> k.startsWith("QUARKUS_KAFKA_STREAMS_")),
                "scoring runs no Kafka Streams topology");
    }

    @Test
    void jaasConfigCanComeWholeFromTheSecret() {
        Manifests rendered = chart().values("sasl-ssl.yaml")
                .set("kafka.security.sasl.jaasConfigKey", "sasl.jaas.config")
                .render();

        Map<String, JsonNode> env = rendered.env("scoring");
        assertSecretRef(env.get("KAFKA_SASL_JAAS_CONFIG"), "vision", "sasl.jaas.config");
        assertFalse(env.containsKey("SASL_PASSWORD"));
    }

    @Test
    void plainMechanismUsesThePlainLoginModule() {
        Manifests rendered = chart().values("sasl-ssl.yaml")
                .set("kafka.security.protocol", "SASL_PLAINTEXT")
                .set("kafka.security.sasl.mechanism", "PLAIN")
                .set("kafka.security.tls.truststore.existingSecret", "")
                .render();

        assertEquals("PLAIN", rendered.config("scoring").get("KAFKA_SASL_MECHANISM"));
        assertTrue(rendered.env("scoring")
                .get("KAFKA_SASL_JAAS_CONFIG")
                .path("value")
                .asText()
                .startsWith("org.apache.kafka.common.security.plain.PlainLoginModule required "));
        assertFalse(rendered.config("scoring").containsKey("KAFKA_SSL_TRUSTSTORE_LOCATION"));
        assertTrue(rendered.podSpec("scoring").path("volumes").findValuesAsText("name").stream()
                .noneMatch(n -> n.startsWith("kafka-")));
    }

    @Test
    void mutualTlsWithPkcs12Stores() {
        Manifests rendered = chart().values("mtls-pkcs12.yaml").render();

        for (String component : COMPONENTS) {
            Map<String, String> config = rendered.config(component);
            assertEquals("SSL", config.get("KAFKA_SECURITY_PROTOCOL"));
            assertFalse(config.containsKey("KAFKA_SASL_MECHANISM"));
            assertEquals("PKCS12", config.get("KAFKA_SSL_TRUSTSTORE_TYPE"));
            assertEquals(TRUSTSTORE_DIR + "/ca.p12", config.get("KAFKA_SSL_TRUSTSTORE_LOCATION"));
            assertEquals("PKCS12", config.get("KAFKA_SSL_KEYSTORE_TYPE"));
            assertEquals(KEYSTORE_DIR + "/user.p12", config.get("KAFKA_SSL_KEYSTORE_LOCATION"));

            Map<String, JsonNode> env = rendered.env(component);
            assertSecretRef(env.get("KAFKA_SSL_TRUSTSTORE_PASSWORD"), "my-cluster-cluster-ca-cert", "ca.password");
            assertSecretRef(env.get("KAFKA_SSL_KEYSTORE_PASSWORD"), "vision-tls", "user.password");
            assertFalse(env.containsKey("KAFKA_SASL_JAAS_CONFIG"));

            assertEquals(
                    "vision-tls",
                    rendered.volume(component, "kafka-keystore")
                            .at("/secret/secretName")
                            .asText());
            assertEquals(
                    KEYSTORE_DIR,
                    rendered.volumeMount(component, "kafka-keystore")
                            .path("mountPath")
                            .asText());
        }
        assertSecretRef(
                rendered.env("preprocess").get("QUARKUS_KAFKA_STREAMS_SSL_KEYSTORE_PASSWORD"),
                "vision-tls",
                "user.password");
    }

    @Test
    void refusesSaslWithoutASecret() {
        Exception e = assertThrows(
                Exception.class,
                () -> chart().set("kafka.security.protocol", "SASL_SSL")
                        .set("kafka.security.sasl.username", "vision")
                        .render());
        assertTrue(e.getMessage().contains("needs kafka.security.sasl.existingSecret"), e::getMessage);
    }

    @Test
    void refusesTlsStoresWithoutTls() {
        Exception e = assertThrows(
                Exception.class,
                () -> chart().set("kafka.security.tls.truststore.existingSecret", "my-cluster-cluster-ca-cert")
                        .render());
        assertTrue(e.getMessage().contains("does not use TLS"), e::getMessage);
    }

    private static void assertSecretRef(JsonNode envVar, String secret, String key) {
        assertEquals(secret, envVar.at("/valueFrom/secretKeyRef/name").asText(), envVar::toString);
        assertEquals(key, envVar.at("/valueFrom/secretKeyRef/key").asText(), envVar::toString);
        assertTrue(envVar.path("value").isMissingNode(), envVar::toString);
    }
}
