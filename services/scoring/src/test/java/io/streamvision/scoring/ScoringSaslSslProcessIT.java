package io.streamvision.scoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamvision.kafka.TopicProvisioner;
import io.streamvision.kafka.Topics;
import io.streamvision.testing.InJvmKraftBroker;
import io.streamvision.testing.SaslSsl;
import io.streamvision.testing.ServiceProcess;
import io.streamvision.testing.TestClients;
import io.streamvision.testing.TestModels;
import io.streamvision.testing.TestPki;
import io.streamvision.testing.TopicCollector;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.resource.PatternType;
import org.junit.jupiter.api.Test;

/**
 * The packaged scoring service against a broker that requires SASL_SSL (SCRAM-SHA-512 over TLS)
 * and ACLs, as its own principal with least privilege: without its group ACL it is not ready and
 * says which permission is missing; with a wrong password it is not ready and says so; once the
 * ACL is granted a restarted instance scores every record that waited, each once.
 */
class ScoringSaslSslProcessIT {

    static final String SUFFIX = ".it-sasl";
    static final String GROUP = "vision-scoring-sasl";
    static final String TRANSACTIONAL_ID = "vision-scoring-sasl-0";
    static final int RECORDS = 20;

    @Test
    void scoresAsItsOwnPrincipalAndReportsMissingPermissionsAndBadCredentials() throws Exception {
        Path dir = Files.createTempDirectory("sasl-ssl-");
        TestPki pki = TestPki.create(dir.resolve("pki"));
        Topics topics = new Topics(SUFFIX);
        try (InJvmKraftBroker broker = InJvmKraftBroker.startSaslSsl(pki, "admin-secret")) {
            Map<String, String> admin = SaslSsl.admin(pki, "admin-secret");
            String tensors = topics.tensors("lenet").name();
            try (Admin client = SaslSsl.adminClient(broker.bootstrapServers(), admin)) {
                TopicProvisioner.ensure(
                        broker.bootstrapServers(),
                        new HashMap<>(admin),
                        List.of(
                                tensors,
                                topics.scores().name(),
                                topics.features().name(),
                                topics.deadLetters().name()),
                        2,
                        (short) 1);
                SaslSsl.createUser(client, "scoring", "scoring-secret");
                // Least privilege, all but the consumer group for now.
                SaslSsl.allowRead(client, "scoring", "vision.tensors.", PatternType.PREFIXED);
                for (String out : List.of(
                        topics.scores().name(),
                        topics.features().name(),
                        topics.deadLetters().name())) {
                    SaslSsl.allowWrite(client, "scoring", out, PatternType.LITERAL);
                }
                SaslSsl.allowTransactions(client, "scoring", TRANSACTIONAL_ID, PatternType.LITERAL);

                try (KafkaProducer<byte[], byte[]> producer = TestClients.producer(broker.bootstrapServers(), admin)) {
                    for (int i = 0; i < RECORDS; i++) {
                        producer.send(new ProducerRecord<>(
                                tensors,
                                ("sasl-" + i).getBytes(StandardCharsets.UTF_8),
                                ScoringServiceIT.image("sasl-" + i, "lenet", 0.5f)
                                        .toByteArray()));
                    }
                    producer.flush();
                }

                Process noGroup = start(broker, pki, "scoring-secret", 18171, dir.resolve("no-group.log"));
                try {
                    String why = awaitNotReady(18171, "Not authorized to access group");
                    assertTrue(why.contains(GROUP), why);
                } finally {
                    stop(noGroup);
                }

                Process wrongPassword =
                        start(broker, pki, "not-the-password", 18172, dir.resolve("wrong-password.log"));
                try {
                    awaitNotReady(18172, "Authentication failed");
                } finally {
                    stop(wrongPassword);
                }

                SaslSsl.allowGroup(client, "scoring", GROUP, PatternType.LITERAL);
                try (TopicCollector scores = new TopicCollector(
                        broker.bootstrapServers(), topics.scores().name(), admin)) {
                    Process fixed = start(broker, pki, "scoring-secret", 18173, dir.resolve("fixed.log"));
                    try {
                        ServiceProcess.awaitReady(18173, Duration.ofSeconds(120));
                        scores.awaitAtLeast(RECORDS, Duration.ofSeconds(60));
                        Thread.sleep(2000);
                        Set<String> keys = new HashSet<>();
                        scores.records().forEach(r -> keys.add(new String(r.key(), StandardCharsets.UTF_8)));
                        assertEquals(RECORDS, scores.records().size(), "each record scored once");
                        assertEquals(RECORDS, keys.size());
                    } finally {
                        stop(fixed);
                    }
                }
            }
        }
    }

    private static Process start(InJvmKraftBroker broker, TestPki pki, String password, int managementPort, Path log)
            throws Exception {
        Map<String, String> config = ServiceProcess.settings(broker.bootstrapServers(), SUFFIX);
        SaslSsl.scram(pki, "scoring", password).forEach((k, v) -> config.put("kafka." + k, v));
        config.putAll(Map.of(
                "vision.kafka.create-topics",
                "false",
                "vision.scoring.models-dir",
                TestModels.dir().toString(),
                "vision.scoring.models",
                "lenet",
                "vision.scoring.kafka.group-id",
                GROUP,
                "vision.scoring.kafka.transactional-id",
                TRANSACTIONAL_ID,
                "quarkus.management.port",
                Integer.toString(managementPort)));
        return ServiceProcess.start(".", config, log);
    }

    /** Waits until readiness is DOWN and its data contain {@code reason}; returns the data. */
    private static String awaitNotReady(int port, String reason) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        String body = "";
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> r = http.send(
                        HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/q/health/ready"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                body = r.body();
                if (r.statusCode() == 503 && body.contains(reason)) {
                    return body;
                }
                assertTrue(r.statusCode() != 200, "ready without the permission: " + body);
            } catch (IOException notYetListening) {
                // starting
            }
            Thread.sleep(500);
        }
        throw new AssertionError("not DOWN with '" + reason + "' within 120 s: " + body);
    }

    private static void stop(Process p) throws InterruptedException {
        p.destroy();
        p.waitFor();
    }
}
