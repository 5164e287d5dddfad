package io.streamvision.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.streamvision.kafka.RecordHeaders;
import io.streamvision.kafka.TopicProvisioner;
import io.streamvision.kafka.Topics;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.ImageRequest;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.testing.KafkaBrokerExtension;
import io.streamvision.testing.ServiceProcess;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TestClients;
import io.streamvision.testing.TestModels;
import io.streamvision.testing.TopicCollector;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The packaged {@code vision.jar} run as a user runs it: against the packaged scoring service over
 * gRPC and against a real broker, and with the inputs and addresses that must fail with their
 * documented exit codes.
 */
@ExtendWith(KafkaBrokerExtension.class)
class VisionCliProcessIT {

    private static final Path ROOT = TestModels.dir().getParent();
    private static final ObjectMapper JSON = new ObjectMapper();

    record Run(int exitCode, String out, String err) {}

    static Run vision(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar",
                Path.of("target/vision.jar").toAbsolutePath().toString()));
        command.addAll(List.of(args));
        Path out = Files.createTempFile("vision-out", ".txt");
        Path err = Files.createTempFile("vision-err", ".txt");
        Process p = new ProcessBuilder(command)
                .directory(ROOT.toFile())
                .redirectOutput(out.toFile())
                .redirectError(err.toFile())
                .start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "vision " + String.join(" ", args));
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    @Test
    void classifiesSampleItemsOverGrpcAsTheModelDoes() throws Exception {
        Process scoring = ServiceProcess.start(
                "../scoring",
                Map.of(
                        "vision.scoring.models-dir",
                        ROOT.resolve("models").toString(),
                        "vision.scoring.models",
                        "fashion-cnn",
                        "vision.scoring.kafka.enabled",
                        "false",
                        "vision.kafka.create-topics",
                        "false",
                        "quarkus.http.port",
                        "0",
                        "quarkus.management.port",
                        "0",
                        "quarkus.grpc.server.port",
                        "18141"),
                Path.of("target/cli-scoring.log"));
        try {
            JsonNode expected =
                    JSON.readTree(ROOT.resolve("samples/items/expected.json").toFile());
            List<String> args = new ArrayList<>(
                    List.of("classify", "--server", "localhost:18141", "--json", "-k", "1", "--deadline-ms", "60000"));
            expected.get("files").forEach(f -> args.add("samples/" + f.asText()));
            Run run = vision(args.toArray(String[]::new));
            assertEquals(0, run.exitCode(), run.err());
            String[] lines = run.out().strip().split("\n");
            assertEquals(expected.get("files").size(), lines.length, run.out());
            JsonNode labels = JSON.readTree(
                            ROOT.resolve("models/fashion-cnn/1/config.json").toFile())
                    .get("labels");
            for (int i = 0; i < lines.length; i++) {
                JsonNode line = JSON.readTree(lines[i]);
                int best = expected.get("fashion-cnn").get("top1").get(i).asInt();
                assertEquals(
                        "samples/" + expected.get("files").get(i).asText(),
                        line.get("file").asText());
                assertEquals("fashion-cnn", line.get("model").asText());
                assertEquals(
                        labels.get(best).asText(),
                        line.get("labels").get(0).get("label").asText(),
                        "top label of " + line.get("file"));
                assertEquals(false, line.get("out_of_domain").asBoolean(), "an item is fashion-cnn's domain");
            }
            // A photograph: the answer says it is out of the model's domain, in JSON and in text.
            Run cat = vision(
                    "classify", "--server", "localhost:18141", "--deadline-ms", "60000", "samples/photos/chelsea.jpg");
            assertEquals(0, cat.exitCode(), cat.err());
            assertTrue(
                    cat.out().contains("[OUT OF DOMAIN: score")
                            && cat.out().contains("not trained on images like this"),
                    cat.out());
        } finally {
            scoring.destroy();
            scoring.waitFor();
        }
    }

    @Test
    void badInputsAndUnreachableServersEndWithTheirExitCodes() throws Exception {
        Run missing = vision("caption", "no-such-image.png");
        assertEquals(ExitCodes.BAD_INPUT, missing.exitCode());
        assertTrue(missing.err().contains("no such file: no-such-image.png"), missing.err());

        Run unsupported = vision("classify", "samples/video-schedule.json");
        assertEquals(ExitCodes.BAD_INPUT, unsupported.exitCode());
        assertTrue(unsupported.err().contains("unsupported image format"), unsupported.err());

        Run noServer = vision("classify", "--server", "localhost:1", "--deadline-ms", "1000", "samples/items");
        assertEquals(ExitCodes.UNREACHABLE, noServer.exitCode());
        assertTrue(noServer.err().contains("cannot reach localhost:1"), noServer.err());

        Run noBroker = vision("follow", "results", "-b", "localhost:1", "--kafka-timeout-ms", "1000");
        assertEquals(ExitCodes.UNREACHABLE, noBroker.exitCode());
        assertTrue(noBroker.err().contains("cannot reach Kafka at localhost:1"), noBroker.err());

        Run usage = vision("submit-videos", "--fps", "1", "--every", "2", "samples/video.mp4");
        assertEquals(ExitCodes.USAGE, usage.exitCode());
    }

    @Test
    void perfMeasuresGrpcRestAndKafkaWithTheServersSplit() throws Exception {
        TestBroker broker = TestBrokers.shared();
        int http = ServiceProcess.freePort();
        int grpc = ServiceProcess.freePort();
        int health = ServiceProcess.freePort();
        Process scoring = ServiceProcess.start(
                "../scoring",
                ServiceProcess.settings(
                        broker.bootstrapServers(),
                        ".it-perf",
                        Map.of(
                                "vision.scoring.models-dir",
                                ROOT.resolve("models").toString(),
                                "vision.scoring.models",
                                "fashion-cnn",
                                "quarkus.http.port",
                                Integer.toString(http),
                                "quarkus.management.port",
                                Integer.toString(health),
                                "quarkus.grpc.server.port",
                                Integer.toString(grpc))),
                Path.of("target/cli-perf-scoring.log"));
        try {
            ServiceProcess.awaitReady(health, Duration.ofSeconds(120));
            Path csv = Files.createTempFile("perf", ".csv");
            Run run = vision(
                    "perf",
                    "--server",
                    "localhost:" + grpc,
                    "-m",
                    "fashion-cnn",
                    "--batch-size",
                    "4",
                    "--concurrency-range",
                    "1:3:2",
                    "-p",
                    "1500",
                    "--warmup-ms",
                    "1000",
                    "-f",
                    csv.toString());
            assertEquals(0, run.exitCode(), run.out() + run.err());
            List<String> rows =
                    run.out().lines().filter(l -> l.matches("\\| [0-9]+ \\|.*")).toList();
            assertEquals(2, rows.size(), run.out());
            for (String row : rows) {
                String[] cells = row.split("\\|");
                assertTrue(Double.parseDouble(cells[2].trim()) > 0, "throughput: " + row);
                assertTrue(
                        Double.parseDouble(cells[10].trim()) > 0, "server compute infer from ModelStatistics: " + row);
            }
            List<String> lines = Files.readAllLines(csv);
            assertTrue(lines.get(0).startsWith("Concurrency,Inferences/Second,Server Queue"), lines.get(0));
            assertEquals(3, lines.size(), String.join("\n", lines));

            Run rest = vision(
                    "perf",
                    "--server",
                    "localhost:" + grpc,
                    "--http",
                    "http://localhost:" + http,
                    "-i",
                    "rest",
                    "--concurrency-range",
                    "2",
                    "-p",
                    "1500",
                    "--warmup-ms",
                    "1000");
            assertEquals(0, rest.exitCode(), rest.out() + rest.err());
            assertTrue(rest.out().lines().anyMatch(l -> l.startsWith("| 2 |")), rest.out());

            Run kafka = vision(
                    "perf",
                    "--server",
                    "localhost:" + grpc,
                    "-i",
                    "kafka",
                    "-b",
                    broker.bootstrapServers(),
                    "--topic-suffix",
                    ".it-perf",
                    "--request-rate-range",
                    "0:100:100",
                    "--kafka-requests",
                    "200");
            assertEquals(0, kafka.exitCode(), kafka.out() + kafka.err());
            List<String> steps = kafka.out()
                    .lines()
                    .filter(l -> l.matches("\\| [0-9]+ \\|.*"))
                    .toList();
            assertEquals(2, steps.size(), kafka.out());
            for (String step : steps) {
                String[] cells = step.split("\\|");
                assertEquals("0", cells[7].trim(), "no errors: every record scored: " + step);
                assertTrue(Double.parseDouble(cells[2].trim()) > 0, step);
            }
        } finally {
            scoring.destroy();
            scoring.waitFor();
        }
    }

    @Test
    void submitsImagesAndFollowsTopicsOnARealBroker() throws Exception {
        TestBroker broker = TestBrokers.shared();
        Topics topics = new Topics(".it-cli");
        TopicProvisioner.ensure(
                broker.bootstrapServers(),
                List.of(
                        topics.images().name(),
                        topics.results().name(),
                        topics.deadLetters().name()),
                2,
                (short) 1);
        try (TopicCollector images = broker.collect(topics.images().name())) {
            Run sent = vision(
                    "submit-images",
                    "--no-wait",
                    "-b",
                    broker.bootstrapServers(),
                    "--topic-suffix",
                    ".it-cli",
                    "samples/items/1-trouser-test2.png",
                    "samples/items/8-bag-test18.png");
            assertEquals(0, sent.exitCode(), sent.err());
            assertEquals(2, images.awaitAtLeast(2, Duration.ofSeconds(30)));
            ImageRequest first = ImageRequest.parseFrom(images.records().get(0).value());
            assertTrue(
                    first.getRequestId().startsWith("1-trouser-test2-")
                            || first.getRequestId().startsWith("8-bag"),
                    first.getRequestId());
            assertEquals(
                    Files.size(ROOT.resolve("samples/"
                            + (first.getRequestId().startsWith("1-")
                                    ? "items/1-trouser-test2.png"
                                    : "items/8-bag-test18.png"))),
                    first.getImage().size());
            List<String> traces = images.records().stream()
                    .map(r -> RecordHeaders.text(r.headers(), RecordHeaders.TRACEPARENT))
                    .toList();
            for (String t : traces) {
                assertTrue(t != null && t.matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01"), "a sampled W3C trace: " + t);
            }
            assertTrue(!traces.get(0).split("-")[1].equals(traces.get(1).split("-")[1]), "one trace per image");
            assertTrue(
                    sent.err().contains("trace id " + traces.get(0).split("-")[1])
                            || sent.err().contains("trace id " + traces.get(1).split("-")[1]),
                    sent.err());
        }
        DeadLetter letter = DeadLetter.newBuilder()
                .setRequestId("req-7")
                .setStage("preprocess/image")
                .setReason(ReasonCode.CORRUPT_IMAGE)
                .setMessage("JPEG ends early")
                .build();
        TestClients.send(
                broker.bootstrapServers(),
                List.of(new ProducerRecord<>(
                        topics.deadLetters().name(), "req-7".getBytes(StandardCharsets.UTF_8), letter.toByteArray())));
        Run followed = vision(
                "follow",
                "dlq",
                "-b",
                broker.bootstrapServers(),
                "--topic-suffix",
                ".it-cli",
                "--from-beginning",
                "-n",
                "1",
                "--timeout-s",
                "30");
        assertEquals(0, followed.exitCode(), followed.err());
        assertTrue(
                followed.out().contains("req-7  CORRUPT_IMAGE at preprocess/image: JPEG ends early"), followed.out());
    }
}
