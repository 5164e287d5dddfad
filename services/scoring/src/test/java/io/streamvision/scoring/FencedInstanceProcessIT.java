package io.streamvision.scoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamvision.kafka.Topics;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.testing.ExactlyOnce;
import io.streamvision.testing.KafkaBrokerExtension;
import io.streamvision.testing.ServiceProcess;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TestModels;
import io.streamvision.testing.TopicCollector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Several scoring instances on one host, as {@code java -jar} with only their ports changed: with
 * the default settings each takes a transactional id of its own and both serve; two instances
 * given the same id fence each other, and the fenced one reports it through liveness (DOWN, with
 * the reason) instead of staying alive doing nothing.
 */
@ExtendWith(KafkaBrokerExtension.class)
class FencedInstanceProcessIT {

    static final String SUFFIX = ".it-fenced";
    static final int RECORDS = 300;

    private record Instance(Process process, int port, Path log) {}

    private static Instance start(TestBroker broker, String name, Map<String, String> own) throws Exception {
        int port = ServiceProcess.freePort();
        Map<String, String> settings = new HashMap<>(Map.of(
                "vision.kafka.partitions",
                "4",
                "vision.scoring.models-dir",
                TestModels.dir().toString(),
                "vision.scoring.models",
                "lenet",
                "vision.scoring.kafka.group-id",
                "vision-scoring-fenced",
                "quarkus.management.port",
                Integer.toString(port)));
        settings.putAll(own);
        Path log = Path.of("target/fenced-" + name + ".log");
        Process p =
                ServiceProcess.start(".", ServiceProcess.settings(broker.bootstrapServers(), SUFFIX, settings), log);
        return new Instance(p, port, log);
    }

    private static HttpResponse<String> liveness(int port) throws Exception {
        return HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/q/health/live"))
                                .timeout(Duration.ofSeconds(5))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
    }

    private static String transactionalId(Path log) throws Exception {
        Matcher m = Pattern.compile("with transactional id (\\S+)").matcher(Files.readString(log));
        return m.find() ? m.group(1) : "";
    }

    private static void send(KafkaProducer<byte[], byte[]> producer, Topics topics, String prefix, List<String> ids)
            throws Exception {
        for (int i = 0; i < RECORDS; i++) {
            String id = prefix + i;
            ids.add(id);
            producer.send(new ProducerRecord<>(
                    topics.tensors("lenet").name(),
                    id.getBytes(StandardCharsets.UTF_8),
                    ScoringServiceIT.image(id, "lenet", 0.5f).toByteArray()));
        }
        producer.flush();
    }

    private static void stop(Instance... instances) throws Exception {
        for (Instance i : instances) {
            i.process().destroy();
        }
        for (Instance i : instances) {
            i.process().waitFor();
        }
    }

    @Test
    void defaultIdsAreUniquePerProcessAndAFencedInstanceIsNotLive() throws Exception {
        TestBroker broker = TestBrokers.shared();
        Topics topics = new Topics(SUFFIX);
        List<String> ids = new ArrayList<>();
        try (TopicCollector scores = broker.collect(topics.scores().name());
                KafkaProducer<byte[], byte[]> producer = broker.producer()) {
            // Two instances with nothing but their ports set.
            Instance a = start(broker, "default-a", Map.of());
            Instance b = start(broker, "default-b", Map.of());
            ServiceProcess.awaitReady(a.port(), Duration.ofSeconds(120));
            ServiceProcess.awaitReady(b.port(), Duration.ofSeconds(120));
            assertTrue(
                    ServiceProcess.awaitReadinessValues("kafka-partitions", Duration.ofSeconds(60), a.port(), b.port()),
                    "both default instances hold partitions");
            String idA = transactionalId(a.log());
            String idB = transactionalId(b.log());
            System.out.printf("[fenced IT] default transactional ids: %s and %s%n", idA, idB);
            assertTrue(idA.startsWith("vision-scoring-fenced-"), idA);
            assertNotEquals(idA, idB, "two processes on one host take different transactional ids");
            send(producer, topics, "default-", ids);
            scores.awaitAtLeast(RECORDS, Duration.ofSeconds(90));
            Thread.sleep(2000);
            assertEquals(200, liveness(a.port()).statusCode(), "instance a stays live");
            assertEquals(200, liveness(b.port()).statusCode(), "instance b stays live");
            stop(a, b);

            // Two instances told to share one id: the second fences the first.
            Map<String, String> shared = Map.of("vision.scoring.kafka.transactional-id", "vision-scoring-shared");
            Instance c = start(broker, "shared-c", shared);
            ServiceProcess.awaitReady(c.port(), Duration.ofSeconds(120));
            Instance d = start(broker, "shared-d", shared);
            ServiceProcess.awaitReady(d.port(), Duration.ofSeconds(120));
            // The fenced loop notices at its next transaction.
            send(producer, topics, "shared-", ids);
            long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            HttpResponse<String> live = liveness(c.port());
            while (live.statusCode() == 200 && System.nanoTime() < deadline) {
                Thread.sleep(250);
                live = liveness(c.port());
            }
            System.out.printf("[fenced IT] liveness of the fenced instance: %d %s%n", live.statusCode(), live.body());
            assertEquals(503, live.statusCode(), "the fenced instance is not live: " + live.body());
            assertTrue(live.body().contains("fenced by a newer instance"), live.body());
            assertEquals(200, liveness(d.port()).statusCode(), "the instance that fenced it is live");
            scores.awaitAtLeast(2 * RECORDS, Duration.ofSeconds(90));
            Thread.sleep(3000);
            stop(c, d);

            List<String> scored = new ArrayList<>();
            for (var r : scores.records()) {
                scored.add(Classification.parseFrom(r.value()).getRequestId());
            }
            ExactlyOnce check = ExactlyOnce.of(ids, scored);
            System.out.println("[fenced IT] " + check.summary());
            check.assertExactlyOnce();
        }
    }
}
