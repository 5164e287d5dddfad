package io.streamvision.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
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

    /** Starts {@code java -D... -jar jar}; the caller ends the process. */
    public static Process start(Path jar, Map<String, String> properties, Path log) throws Exception {
        return start(jar, properties, Map.of(), log);
    }

    /** The same with extra environment variables (as a container gets them). */
    public static Process start(Path jar, Map<String, String> properties, Map<String, String> environment, Path log)
            throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        properties.forEach((k, v) -> command.add("-D" + k + "=" + v));
        command.add("-jar");
        command.add(jar.toString());
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().putAll(environment);
        return builder.redirectErrorStream(true).redirectOutput(log.toFile()).start();
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

    private record Answer(int status, String body) {}

    private static Answer readiness(int port) throws InterruptedException {
        try {
            var response = HTTP.send(
                    HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/q/health/ready"))
                            .timeout(Duration.ofSeconds(5))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            return new Answer(response.statusCode(), response.body());
        } catch (IOException e) {
            return new Answer(-1, "");
        }
    }

    private static final HttpClient HTTP = HttpClient.newHttpClient();
}
