package io.streamvision.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Starts a packaged Quarkus service ({@code target/quarkus-app/quarkus-run.jar}) as a separate JVM
 * with the given system properties, its output in a log file, so tests can kill it with SIGKILL and
 * start it again; and reads its readiness endpoint.
 */
public final class ServiceProcess {

    private ServiceProcess() {}

    /**
     * The system properties every service under test starts from: the broker, the topic suffix,
     * and port 0 (a free port) for HTTP, management and gRPC. Mutable: the caller adds the
     * service's own settings, which win.
     */
    public static Map<String, String> settings(String bootstrapServers, String topicSuffix) {
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("kafka.bootstrap.servers", bootstrapServers);
        settings.put("vision.kafka.topic-suffix", topicSuffix);
        settings.put("quarkus.http.port", "0");
        settings.put("quarkus.management.port", "0");
        settings.put("quarkus.grpc.server.port", "0");
        return settings;
    }

    /** {@link #settings(String, String)} with the service's own settings added. */
    public static Map<String, String> settings(String bootstrapServers, String topicSuffix, Map<String, String> own) {
        Map<String, String> settings = settings(bootstrapServers, topicSuffix);
        settings.putAll(own);
        return settings;
    }

    /**
     * Starts {@code java -D... -jar} with a module's packaged service; the caller ends the process.
     *
     * @param module the module's folder: {@code "."} for the module under test, {@code
     *     "../scoring"} for another one (packaged earlier in the build)
     */
    public static Process start(String module, Map<String, String> properties, Path log) throws Exception {
        return start(module, properties, Map.of(), log);
    }

    /** The same with extra environment variables (as a container gets them). */
    public static Process start(
            String module, Map<String, String> properties, Map<String, String> environment, Path log) throws Exception {
        Path jar = Path.of(module, "target", "quarkus-app", "quarkus-run.jar");
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(
                    jar.toAbsolutePath().normalize() + " does not exist: the service is packaged by mvn package");
        }
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        properties.forEach((k, v) -> command.add("-D" + k + "=" + v));
        command.add("-jar");
        command.add(jar.toString());
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().putAll(environment);
        return builder.redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /**
     * The sum of a metric's samples in a Prometheus text exposition ({@code /q/metrics}) over the
     * series whose labels include every one of {@code labels} (e.g. {@code model="fashion-cnn"});
     * 0 when there is none.
     */
    public static double metricSum(String exposition, String name, String... labels) {
        double total = 0;
        for (String line : exposition.split("\n")) {
            if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) {
                continue;
            }
            boolean all = true;
            for (String label : labels) {
                all &= line.contains(label);
            }
            if (all) {
                total += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return total;
    }

    /** A TCP port free on this machine now, for a process the test starts. */
    public static int freePort() throws IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Waits until {@code GET /q/health/ready} on the port answers 200. */
    public static void awaitReady(int port, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (readiness(port).status() != 200) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("service on port "
                        + port
                        + " not ready within "
                        + timeout.toSeconds()
                        + " s: "
                        + readiness(port).body());
            }
            Thread.sleep(250);
        }
    }

    /**
     * A number from the readiness checks' data ({@code "key": 12}), or -1 when absent or
     * unreachable.
     */
    public static long readinessValue(int port, String key) throws Exception {
        Matcher m = Pattern.compile("\"" + Pattern.quote(key) + "\"\\s*:\\s*(\\d+)")
                .matcher(readiness(port).body());
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    /** A text from the readiness checks' data ({@code "key": "text"}), or null when absent. */
    public static String readinessText(int port, String key) throws Exception {
        Matcher m = Pattern.compile("\"" + Pattern.quote(key) + "\"\\s*:\\s*\"([^\"]*)\"")
                .matcher(readiness(port).body());
        return m.find() ? m.group(1) : null;
    }

    /**
     * Waits until the readiness data of every port has {@code key} above zero (e.g. each instance
     * holds partitions of a loop's topic); false if the timeout passes first.
     */
    public static boolean awaitReadinessValues(String key, Duration timeout, int... ports) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            boolean all = true;
            for (int port : ports) {
                all &= readinessValue(port, key) > 0;
            }
            if (all) {
                return true;
            }
            Thread.sleep(200);
        }
        return false;
    }

    /**
     * The text of {@code GET http://localhost:<port><path>} (e.g. {@code /q/metrics}); an
     * endpoint that does not answer within 10 s fails instead of stalling the caller.
     */
    public static String get(int port, String path) throws IOException, InterruptedException {
        Answer answer = fetch(port, path, Duration.ofSeconds(10));
        if (answer.status() != 200) {
            throw new IOException("GET " + path + " on port " + port + " answered " + answer.status());
        }
        return answer.body();
    }

    private record Answer(int status, String body) {}

    private static Answer readiness(int port) throws InterruptedException {
        try {
            return fetch(port, "/q/health/ready", Duration.ofSeconds(5));
        } catch (IOException e) {
            return new Answer(-1, "");
        }
    }

    private static Answer fetch(int port, String path, Duration timeout) throws IOException, InterruptedException {
        var response = HTTP.send(
                HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                        .timeout(timeout)
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        return new Answer(response.statusCode(), response.body());
    }

    // HTTP/1.1: the management endpoints are plain HTTP, where an HTTP/2 upgrade attempt only adds
    // a round of negotiation.
    private static final HttpClient HTTP =
            HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
}
