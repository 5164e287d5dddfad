package io.streamvision.helm;

import static io.streamvision.helm.Chart.chart;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** values.schema.json stops a bad value before anything renders. */
class ValuesSchemaTest {

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource({
        "scoring.replicas, two, /scoring/replicas",
        "kafka.security.protocol, SASL_TLS, /kafka/security/protocol",
        "kafka.security.sasl.mechanism, SCRAM-SHA-1, /kafka/security/sasl/mechanism",
        "kafka.bootstrapServers, my-cluster-kafka-bootstrap, /kafka/bootstrapServers",
        "scoring.ports.grpc, 70000, /scoring/ports/grpc",
        "scoring.gpu.count, 0, /scoring/gpu/count",
        "captioning.keda.lagThreshold, 0, /captioning/keda/lagThreshold",
        "preprocess.image.pullPolicy, Sometimes, /preprocess/image/pullPolicy",
        "scoring.replica, 2, additional properties 'replica'",
        "preprocess.gpu.enabled, true, additional properties 'gpu'"
    })
    void rejects(String key, String value, String expectedInMessage) {
        Exception e =
                assertThrows(Exception.class, () -> chart().set(key, value).render());
        assertTrue(e.getMessage().contains("don't meet the specifications of the schema"), e::getMessage);
        assertTrue(e.getMessage().contains(expectedInMessage), e::getMessage);
    }
}
