package io.streamvision.captioning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamvision.kafka.Topic;
import io.streamvision.kafka.TopicProvisioner;
import io.streamvision.kafka.Topics;
import io.streamvision.kafka.ValueFormat;
import io.streamvision.proto.vision.v1.ImageResult;
import io.streamvision.proto.vision.v1.VideoSummary;
import io.streamvision.testing.InJvmKraftBroker;
import io.streamvision.testing.SaslSsl;
import io.streamvision.testing.ServiceProcess;
import io.streamvision.testing.TestClients;
import io.streamvision.testing.TestModels;
import io.streamvision.testing.TestPki;
import io.streamvision.testing.TopicCollector;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.Test;

/**
 * All three packaged services against a broker that requires SASL_SSL and ACLs, each as its own
 * SCRAM principal with only the ACLs the README lists for it: images in, captioned and labelled
 * results out; a video in, its timeline out; no dead letters. The deployment writes its outputs as
 * JSON ({@code vision.kafka.output-format=json}), so scores and captions reach the results join as
 * JSON too.
 */
class PipelineSaslSslProcessIT {

    static final String SUFFIX = ".it-sasl3";
    static final String PREPROCESS_APP = "it-sasl3-preprocess";
    static final String RESULTS_APP = "it-sasl3-results";

    @Test
    void imagesBecomeResultsWithEveryServiceAsItsOwnPrincipal() throws Exception {
        Path dir = Files.createTempDirectory("sasl3-");
        TestPki pki = TestPki.create(dir.resolve("pki"));
        Topics topics = new Topics(SUFFIX, ValueFormat.JSON);
        List<Process> processes = new ArrayList<>();
        try (InJvmKraftBroker broker = InJvmKraftBroker.startSaslSsl(pki, "admin-secret");
                Admin admin = SaslSsl.adminClient(broker.bootstrapServers(), SaslSsl.admin(pki, "admin-secret"))) {
            try {
                Map<String, String> adminSettings = SaslSsl.admin(pki, "admin-secret");
                List<String> names =
                        new ArrayList<>(topics.all().stream().map(Topic::name).toList());
                names.add(topics.tensors("fashion-cnn").name());
                names.add(topics.tensors("caption-encoder").name());
                TopicProvisioner.ensure(broker.bootstrapServers(), new HashMap<>(adminSettings), names, 2, (short) 1);

                // preprocess: images and videos in, tensors, segments, video events and dead letters out,
                // its Kafka Streams application and its two video loops.
                principal(admin, "preprocess");
                for (Topic<?> in : List.of(topics.images(), topics.videos(), topics.videoSegments())) {
                    SaslSsl.allowRead(admin, "preprocess", in.name(), PatternType.LITERAL);
                }
                SaslSsl.allowWrite(admin, "preprocess", "vision.tensors.", PatternType.PREFIXED);
                for (Topic<?> out : List.of(topics.videoSegments(), topics.videoEvents(), topics.deadLetters())) {
                    SaslSsl.allowWrite(admin, "preprocess", out.name(), PatternType.LITERAL);
                }
                streamsApplication(admin, "preprocess", PREPROCESS_APP);
                // The planner's group and the segment decoders' group (-segments), and their transactional ids.
                loops(admin, "preprocess", "it-sasl3-preprocess-videos", "it-sasl3-preprocess-0-");
                // scoring: tensors in, scores, features and dead letters out, its group and transactional id.
                principal(admin, "scoring");
                SaslSsl.allowRead(admin, "scoring", "vision.tensors.", PatternType.PREFIXED);
                for (Topic<?> out : List.of(topics.scores(), topics.features(), topics.deadLetters())) {
                    SaslSsl.allowWrite(admin, "scoring", out.name(), PatternType.LITERAL);
                }
                loop(admin, "scoring", "it-sasl3-scoring", "it-sasl3-scoring-0");
                // captioning: features in, captions out (its loop); scores, captions, video events in,
                // results and video summaries out (its Kafka Streams application).
                principal(admin, "captioning");
                for (Topic<?> in :
                        List.of(topics.features(), topics.scores(), topics.captions(), topics.videoEvents())) {
                    SaslSsl.allowRead(admin, "captioning", in.name(), PatternType.LITERAL);
                }
                for (Topic<?> out :
                        List.of(topics.captions(), topics.results(), topics.videoSummaries(), topics.deadLetters())) {
                    SaslSsl.allowWrite(admin, "captioning", out.name(), PatternType.LITERAL);
                }
                loop(admin, "captioning", "it-sasl3-captioning", "it-sasl3-captioning-0");
                streamsApplication(admin, "captioning", RESULTS_APP);

                Path models = TestModels.dir();
                processes.add(start(
                        "../preprocess",
                        broker,
                        pki,
                        "preprocess",
                        dir,
                        Map.of(
                                "vision.preprocess.models-dir",
                                models.toString(),
                                "vision.preprocess.video.kafka.group-id",
                                "it-sasl3-preprocess-videos",
                                "vision.preprocess.video.kafka.transactional-id",
                                "it-sasl3-preprocess-0",
                                "quarkus.kafka-streams.application-id",
                                PREPROCESS_APP,
                                "quarkus.http.port",
                                "18181")));
                processes.add(start(
                        "../scoring",
                        broker,
                        pki,
                        "scoring",
                        dir,
                        Map.of(
                                "vision.scoring.models-dir", models.toString(),
                                "vision.scoring.models", "fashion-cnn,caption-encoder",
                                "vision.scoring.kafka.group-id", "it-sasl3-scoring",
                                "vision.scoring.kafka.transactional-id", "it-sasl3-scoring-0",
                                "quarkus.management.port", "18182",
                                "quarkus.grpc.server.port", "18184")));
                processes.add(start(
                        ".",
                        broker,
                        pki,
                        "captioning",
                        dir,
                        Map.of(
                                "vision.captioning.models-dir", models.toString(),
                                "vision.captioning.kafka.group-id", "it-sasl3-captioning",
                                "vision.captioning.kafka.transactional-id", "it-sasl3-captioning-0",
                                "vision.captioning.console.enabled", "false",
                                "quarkus.kafka-streams.application-id", RESULTS_APP,
                                "kafka-streams.state.dir",
                                        Files.createTempDirectory("sasl3-state").toString(),
                                "quarkus.management.port", "18183",
                                "quarkus.grpc.clients.scoring.port", "18184")));
                for (int port : new int[] {18181, 18182, 18183}) {
                    ServiceProcess.awaitReady(port, Duration.ofSeconds(180));
                }

                List<Path> images;
                try (Stream<Path> files = Files.list(models.getParent().resolve("samples/items"))) {
                    images = files.filter(f -> f.toString().endsWith(".png"))
                            .sorted()
                            .limit(4)
                            .toList();
                }
                try (TopicCollector results = new TopicCollector(
                                broker.bootstrapServers(), topics.results().name(), adminSettings);
                        TopicCollector summaries = new TopicCollector(
                                broker.bootstrapServers(),
                                topics.videoSummaries().name(),
                                adminSettings);
                        TopicCollector deadLetters = new TopicCollector(
                                broker.bootstrapServers(), topics.deadLetters().name(), adminSettings);
                        KafkaProducer<byte[], byte[]> producer =
                                TestClients.producer(broker.bootstrapServers(), adminSettings)) {
                    for (Path image : images) {
                        producer.send(PipelineRequests.image(
                                topics, image.getFileName().toString(), image));
                    }
                    producer.send(PipelineRequests.inlineVideo(
                            topics, "sasl-video", models.getParent().resolve("samples/video.mp4"), 5));
                    producer.flush();
                    assertEquals(
                            images.size(),
                            results.awaitAtLeast(images.size(), Duration.ofSeconds(120)),
                            "a result per image");
                    for (var record : results.records()) {
                        String text = new String(record.value(), StandardCharsets.UTF_8);
                        assertTrue(text.startsWith("{\"request_id\":"), "a result in JSON: " + text);
                        ImageResult result = topics.results().valueOf(record);
                        assertTrue(result.getComplete(), result.toString());
                        assertFalse(result.getCaption().getText().isBlank(), result.toString());
                        assertEquals("fashion-cnn", result.getClassifications(0).getModelName());
                    }
                    VideoSummary video = finalSummary(summaries, "sasl-video");
                    assertEquals(VideoSummary.State.COMPLETE, video.getState(), video.toString());
                    assertTrue(video.getFramesSampled() > 0, video.toString());
                    assertEquals(0, deadLetters.records().size(), "no dead letters: " + deadLetters.records());
                    System.out.printf(
                            "[sasl IT] %d results and a video of %d sampled frames through three principals;"
                                    + " a result as written:%n%s%n",
                            results.records().size(),
                            video.getFramesSampled(),
                            new String(results.records().get(0).value(), StandardCharsets.UTF_8));
                }
            } finally {
                // Before the broker goes: a service whose broker is gone waits on it while it shuts down.
                for (Process p : processes) {
                    p.destroy();
                    p.waitFor();
                }
            }
        }
    }

    private static VideoSummary finalSummary(TopicCollector summaries, String videoId) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        while (System.nanoTime() < deadline) {
            for (var record : summaries.records()) {
                assertTrue(ValueFormat.isJson(record.value()), "a video summary in JSON");
                VideoSummary summary = new Topics(SUFFIX).videoSummaries().valueOf(record);
                if (summary.getVideoId().equals(videoId) && summary.getFinal()) {
                    return summary;
                }
            }
            Thread.sleep(250);
        }
        throw new AssertionError("no final summary of " + videoId + " within 180 s");
    }

    private static Process start(
            String module, InJvmKraftBroker broker, TestPki pki, String user, Path dir, Map<String, String> own)
            throws Exception {
        Map<String, String> config = ServiceProcess.settings(broker.bootstrapServers(), SUFFIX, own);
        Map<String, String> connection = SaslSsl.scram(pki, user, user + "-secret");
        connection.forEach((k, v) -> {
            config.put("kafka." + k, v);
            if (!user.equals("scoring")) {
                // Kafka Streams takes Kafka's own names under kafka-streams.*.
                config.put("kafka-streams." + k, v);
            }
        });
        config.put("vision.kafka.create-topics", "false");
        config.put("vision.kafka.output-format", "json");
        return ServiceProcess.start(module, config, dir.resolve(user + ".log"));
    }

    private static void principal(Admin admin, String user) throws Exception {
        SaslSsl.createUser(admin, user, user + "-secret");
    }

    /** A transactional loop: its consumer group and its transactional id. */
    private static void loop(Admin admin, String user, String group, String transactionalId) throws Exception {
        loop(admin, user, group, transactionalId, PatternType.LITERAL);
    }

    /** Transactional loops whose groups and transactional ids start with these prefixes. */
    private static void loops(Admin admin, String user, String groups, String transactionalIds) throws Exception {
        loop(admin, user, groups, transactionalIds, PatternType.PREFIXED);
    }

    private static void loop(Admin admin, String user, String group, String transactionalId, PatternType pattern)
            throws Exception {
        SaslSsl.allowGroup(admin, user, group, pattern);
        SaslSsl.allowTransactions(admin, user, transactionalId, pattern);
    }

    /** A Kafka Streams application with exactly-once: everything prefixed with its application id. */
    private static void streamsApplication(Admin admin, String user, String applicationId) throws Exception {
        SaslSsl.allowGroup(admin, user, applicationId, PatternType.PREFIXED);
        SaslSsl.allowTransactions(admin, user, applicationId, PatternType.PREFIXED);
        SaslSsl.allow(
                admin,
                user,
                ResourceType.TOPIC,
                applicationId,
                PatternType.PREFIXED,
                AclOperation.CREATE,
                AclOperation.READ,
                AclOperation.WRITE,
                AclOperation.DESCRIBE,
                AclOperation.DESCRIBE_CONFIGS,
                AclOperation.DELETE);
    }
}
