package io.streamvision.captioning.console;

import jakarta.inject.Singleton;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * The console's HTTP calls to the other services (their readiness, scoring's rollouts), each
 * bounded by two seconds so that a service that is down cannot hold the console up. Thread-safe.
 */
@Singleton
public class ServiceProbes {

    private static final Duration TIMEOUT = Duration.ofSeconds(2);

    /**
     * What a service answered: its HTTP status and body, or, when it could not be reached, status 0
     * and the reason.
     */
    public record Answer(int status, String body) {

        /** True for HTTP 200. */
        public boolean ok() {
            return status == 200;
        }

        /** "HTTP 503", or "unreachable: ConnectException". */
        public String detail() {
            return status == 0 ? "unreachable: " + body : "HTTP " + status;
        }
    }

    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(TIMEOUT).build();

    /** GETs {@code url}. */
    public Answer get(String url) {
        try {
            HttpResponse<String> r = http.send(
                    HttpRequest.newBuilder(URI.create(url)).timeout(TIMEOUT).build(),
                    HttpResponse.BodyHandlers.ofString());
            return new Answer(r.statusCode(), r.body());
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            return new Answer(0, e.getClass().getSimpleName());
        }
    }
}
