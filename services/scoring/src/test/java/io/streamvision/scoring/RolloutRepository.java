package io.streamvision.scoring;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.function.Predicate;

/**
 * A rollout test's own model repository (versions copied from the shipped models, the rollout file
 * replaced atomically as an operator's editor would) and the rollout's state read back over REST.
 */
final class RolloutRepository {

    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final ObjectMapper JSON = new ObjectMapper();

    private RolloutRepository() {}

    /** Copies a model version's files. */
    static void copyVersion(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
    }

    /** Writes a model's {@code rollout.json} in one move, so the poller never reads half of it. */
    static void writeRollout(Path modelDir, String json) throws IOException {
        Path tmp = modelDir.resolve("rollout.json.tmp");
        Files.writeString(tmp, json);
        Files.move(tmp, modelDir.resolve("rollout.json"), StandardCopyOption.ATOMIC_MOVE);
    }

    /** The model's rollout as {@code GET /v2/models/{m}/rollout} answers it, once it meets the condition. */
    static JsonNode awaitRollout(URL base, String model, Predicate<JsonNode> condition, String what) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = get(base + "v2/models/" + model + "/rollout");
            if (r.statusCode() == 200) {
                last = JSON.readTree(r.body());
                if (condition.test(last)) {
                    return last;
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("timed out waiting for: " + what + "; last " + last);
    }

    static HttpResponse<String> get(String url) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> post(String url, String body) throws Exception {
        return HTTP.send(
                HttpRequest.newBuilder(URI.create(url))
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
