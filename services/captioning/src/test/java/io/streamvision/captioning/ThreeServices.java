package io.streamvision.captioning;

import io.streamvision.testing.ServiceProcess;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The three packaged services as separate processes on a plain broker, with the sample models,
 * their own topic suffix, group and transactional ids, and fixed ports from {@code basePort}:
 * preprocess HTTP +1, scoring management +2, captioning management +3, scoring gRPC +4,
 * captioning gRPC +5, captioning HTTP +6. Stops them, before the broker goes, on close.
 */
final class ThreeServices implements AutoCloseable {

    private final List<Process> processes = new ArrayList<>();
    private final int basePort;

    /**
     * Starts the three and waits until each is ready.
     *
     * @param name names the ids, the Kafka Streams application ids and the logs
     * @param common settings given to all three (e.g. tracing)
     */
    ThreeServices(TestBroker broker, String suffix, String name, int basePort, Map<String, String> common)
            throws Exception {
        this.basePort = basePort;
        Path models = TestModels.dir();
        try {
            start(
                    "../preprocess",
                    name + "-preprocess",
                    broker,
                    suffix,
                    common,
                    Map.of(
                            "vision.preprocess.models-dir", models.toString(),
                            "vision.preprocess.video.kafka.group-id", name + "-videos",
                            "vision.preprocess.video.kafka.transactional-id", name + "-preprocess-0",
                            "quarkus.kafka-streams.application-id", name + "-preprocess",
                            "quarkus.http.port", Integer.toString(basePort + 1)));
            start(
                    "../scoring",
                    name + "-scoring",
                    broker,
                    suffix,
                    common,
                    withHttpPort(scoring(models, name, basePort + 2, basePort + 4), basePort + 7));
            Map<String, String> captioning = new HashMap<>(Map.of(
                    "vision.captioning.models-dir", models.toString(),
                    "vision.captioning.kafka.group-id", name + "-captioning",
                    "vision.captioning.kafka.transactional-id", name + "-captioning-0",
                    "quarkus.kafka-streams.application-id", name + "-results",
                    "kafka-streams.state.dir",
                            Files.createTempDirectory(name + "-state").toString(),
                    "quarkus.http.port", Integer.toString(basePort + 6),
                    "quarkus.management.port", Integer.toString(basePort + 3),
                    "quarkus.grpc.server.port", Integer.toString(basePort + 5),
                    "quarkus.grpc.clients.scoring.port", Integer.toString(basePort + 4)));
            captioning.put(
                    "vision.captioning.console.services",
                    "preprocess=http://localhost:" + (basePort + 1) + "/q/health/ready,scoring=http://localhost:"
                            + (basePort + 2) + "/q/health/ready,captioning=http://localhost:" + (basePort + 3)
                            + "/q/health/ready");
            captioning.put("vision.captioning.console.scoring-url", "http://localhost:" + scoringHttpPort());
            captioning.put(
                    "vision.captioning.console.lag-groups",
                    String.join(",", name + "-preprocess", name + "-scoring", name + "-captioning", name + "-results"));
            start(".", name + "-captioning", broker, suffix, common, captioning);
            for (int port : new int[] {basePort + 1, basePort + 2, basePort + 3}) {
                ServiceProcess.awaitReady(port, Duration.ofSeconds(180));
            }
        } catch (Exception | Error e) {
            close();
            throw e;
        }
    }

    /**
     * The scoring service's settings in a pipeline: the sample classifier, the caption encoder and
     * the COCO detector, its own group and transactional id (named by {@code name}), and its ports.
     */
    static Map<String, String> scoring(Path models, String name, int managementPort, int grpcPort) {
        Map<String, String> settings = new HashMap<>();
        settings.put("vision.scoring.models-dir", models.toString());
        settings.put("vision.scoring.models", "fashion-cnn,caption-encoder,centernet");
        settings.put("vision.scoring.kafka.group-id", name + "-scoring");
        settings.put("vision.scoring.kafka.transactional-id", name + "-scoring-0");
        settings.put("quarkus.management.port", Integer.toString(managementPort));
        settings.put("quarkus.grpc.server.port", Integer.toString(grpcPort));
        return settings;
    }

    private static Map<String, String> withHttpPort(Map<String, String> settings, int port) {
        Map<String, String> out = new HashMap<>(settings);
        out.put("quarkus.http.port", Integer.toString(port));
        return out;
    }

    /** Scoring's HTTP port (OIP REST, the rollouts API). */
    int scoringHttpPort() {
        return basePort + 7;
    }

    /** Captioning's HTTP port (REST, the web console). */
    int captioningHttpPort() {
        return basePort + 6;
    }

    /** Scoring's gRPC port. */
    int scoringGrpcPort() {
        return basePort + 4;
    }

    /** Captioning's gRPC port. */
    int captioningGrpcPort() {
        return basePort + 5;
    }

    private void start(
            String module,
            String log,
            TestBroker broker,
            String suffix,
            Map<String, String> common,
            Map<String, String> own)
            throws Exception {
        Map<String, String> config = ServiceProcess.settings(broker.bootstrapServers(), suffix, common);
        config.putAll(own);
        processes.add(ServiceProcess.start(module, config, Path.of("target/" + log + ".log")));
    }

    @Override
    public void close() throws InterruptedException {
        for (Process p : processes) {
            p.destroy();
        }
        for (Process p : processes) {
            p.waitFor();
        }
    }
}
