package io.streamvision.video;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.streamvision.imaging.ImageRejectedException;
import io.streamvision.proto.vision.v1.ReasonCode;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The allow-list against real files, symbolic links and a real HTTP server on 127.0.0.1: what it
 * lets through, what it refuses, and that refused URLs are never requested.
 */
class VideoSourcesTest {

    private static final byte[] VIDEO_BYTES = "not really a video".getBytes(StandardCharsets.UTF_8);
    private static final int MAX_REDIRECTS = 3;

    private static HttpServer server;
    private static String base;
    private static final Map<String, AtomicInteger> REQUESTS = new ConcurrentHashMap<>();

    @TempDir
    Path temp;

    Path root;
    Path outside;
    VideoSources sources;

    @BeforeAll
    static void startServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        int port = server.getAddress().getPort();
        base = "http://127.0.0.1:" + port;
        server.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getRawPath();
            REQUESTS.computeIfAbsent(path, p -> new AtomicInteger()).incrementAndGet();
            switch (path) {
                case "/videos/ok.mp4" -> {
                    exchange.sendResponseHeaders(200, VIDEO_BYTES.length);
                    try (OutputStream body = exchange.getResponseBody()) {
                        body.write(VIDEO_BYTES);
                    }
                }
                case "/videos/redirect-in" -> redirect(exchange, "/videos/ok.mp4");
                case "/videos/redirect-out" -> redirect(exchange, "http://127.0.0.2:" + port + "/videos/ok.mp4");
                case "/videos/redirect-file" -> redirect(exchange, "file:///etc/passwd");
                case "/videos/loop" -> redirect(exchange, "/videos/loop");
                default -> {
                    exchange.sendResponseHeaders(404, -1);
                    exchange.close();
                }
            }
        });
        server.start();
    }

    private static void redirect(HttpExchange exchange, String location) throws IOException {
        exchange.getResponseHeaders().set("Location", location);
        exchange.sendResponseHeaders(302, -1);
        exchange.close();
    }

    @AfterAll
    static void stopServer() {
        server.stop(0);
    }

    @BeforeEach
    void makeFiles() throws IOException {
        REQUESTS.clear();
        root = Files.createDirectories(temp.resolve("media"));
        Files.write(root.resolve("clip.mp4"), VIDEO_BYTES);
        Files.createDirectories(root.resolve("sub"));
        Files.write(root.resolve("sub/inner.mp4"), VIDEO_BYTES);
        outside = Files.createDirectories(temp.resolve("outside"));
        Files.write(outside.resolve("secret.mp4"), VIDEO_BYTES);
        Files.createSymbolicLink(root.resolve("link-out.mp4"), outside.resolve("secret.mp4"));
        Files.createSymbolicLink(root.resolve("dangling-out.mp4"), outside.resolve("missing.mp4"));
        Files.createSymbolicLink(root.resolve("link-in.mp4"), Path.of("sub/inner.mp4"));
        Path evil = Files.createDirectories(temp.resolve("media-evil"));
        Files.write(evil.resolve("clip.mp4"), VIDEO_BYTES);
        sources = new VideoSources(List.of(root), List.of(base + "/videos/"), MAX_REDIRECTS);
    }

    private static ImageRejectedException refused(
            VideoSources sources, String uri, ReasonCode reason, String fragment) {
        ImageRejectedException e = assertThrows(ImageRejectedException.class, () -> sources.resolve(uri), uri);
        assertEquals(reason, e.reason(), e.getMessage());
        assertTrue(e.getMessage().contains(fragment), "'" + e.getMessage() + "' should contain '" + fragment + "'");
        return e;
    }

    private static int requestsTo(String path) {
        AtomicInteger count = REQUESTS.get(path);
        return count == null ? 0 : count.get();
    }

    // ---- files ----

    @Test
    void opensFileUnderARootAsItsRealAbsolutePath() throws Exception {
        VideoSources.Resolved resolved =
                sources.resolve(root.resolve("clip.mp4").toUri().toString());
        assertEquals(root.resolve("clip.mp4").toRealPath().toString(), resolved.location());
        assertFalse(resolved.remote());
    }

    @Test
    void opensPlainAbsolutePathUnderARoot() throws Exception {
        VideoSources.Resolved resolved =
                sources.resolve(root.resolve("sub/inner.mp4").toString());
        assertEquals(root.resolve("sub/inner.mp4").toRealPath().toString(), resolved.location());
    }

    @Test
    void resolvesRelativePathAgainstTheFirstRoot() throws Exception {
        assertEquals(
                root.resolve("sub/inner.mp4").toRealPath().toString(),
                sources.resolve("sub/inner.mp4").location());
        refused(sources, "../outside/secret.mp4", ReasonCode.SOURCE_NOT_ALLOWED, VideoSources.FILE_ROOTS_KEY);
    }

    @Test
    void acceptsFileUriWithLocalhostAuthority() throws Exception {
        assertEquals(
                root.resolve("clip.mp4").toRealPath().toString(),
                sources.resolve("file://localhost" + root.resolve("clip.mp4")).location());
    }

    @Test
    void refusesFileOutsideTheRoots() {
        refused(sources, "file:/etc/passwd", ReasonCode.SOURCE_NOT_ALLOWED, VideoSources.FILE_ROOTS_KEY);
        refused(sources, "/etc/passwd", ReasonCode.SOURCE_NOT_ALLOWED, "/etc/passwd is not allowed");
    }

    @Test
    void refusesDotDotEscapeFromARoot() {
        refused(
                sources,
                root.toUri() + "../outside/secret.mp4",
                ReasonCode.SOURCE_NOT_ALLOWED,
                VideoSources.FILE_ROOTS_KEY);
        refused(
                sources,
                root + "/sub/../../outside/secret.mp4",
                ReasonCode.SOURCE_NOT_ALLOWED,
                VideoSources.FILE_ROOTS_KEY);
    }

    @Test
    void refusesPercentEncodedDotDotEscape() {
        refused(
                sources,
                "file:" + root + "/%2e%2e/outside/secret.mp4",
                ReasonCode.SOURCE_NOT_ALLOWED,
                outside.resolve("secret.mp4") + " is not allowed");
        refused(
                sources,
                "file:" + root + "/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
                ReasonCode.SOURCE_NOT_ALLOWED,
                VideoSources.FILE_ROOTS_KEY);
    }

    @Test
    void refusesSymlinkPointingOutOfARoot() {
        ImageRejectedException e = refused(
                sources,
                root.resolve("link-out.mp4").toUri().toString(),
                ReasonCode.SOURCE_NOT_ALLOWED,
                "symbolic link");
        assertFalse(e.getMessage().contains(outside.toString()), "the link's target is not revealed");
    }

    @Test
    void refusesDanglingSymlinkOutOfARootLikeOneToAnExistingFile() {
        refused(sources, root.resolve("dangling-out.mp4").toString(), ReasonCode.SOURCE_NOT_ALLOWED, "symbolic link");
    }

    @Test
    void opensSymlinkPointingInsideARootAsItsTarget() throws Exception {
        assertEquals(
                root.resolve("sub/inner.mp4").toRealPath().toString(),
                sources.resolve(root.resolve("link-in.mp4").toUri().toString()).location());
    }

    @Test
    void refusesSiblingDirectoryWhoseNameExtendsTheRoot() {
        refused(
                sources,
                temp.resolve("media-evil/clip.mp4").toUri().toString(),
                ReasonCode.SOURCE_NOT_ALLOWED,
                VideoSources.FILE_ROOTS_KEY);
    }

    @Test
    void reportsMissingFileUnderARootAsDecodeFailure() {
        refused(sources, root.resolve("nope.mp4").toString(), ReasonCode.VIDEO_DECODE_FAILED, "no such file");
    }

    @Test
    void answersTheSameForExistingAndMissingFilesOutsideTheRoots() {
        ImageRejectedException existing = refused(
                sources,
                outside.resolve("secret.mp4").toString(),
                ReasonCode.SOURCE_NOT_ALLOWED,
                VideoSources.FILE_ROOTS_KEY);
        ImageRejectedException missing = refused(
                sources,
                outside.resolve("secret.mp5").toString(),
                ReasonCode.SOURCE_NOT_ALLOWED,
                VideoSources.FILE_ROOTS_KEY);
        assertEquals(
                existing.getMessage().replace("secret.mp4", "X"),
                missing.getMessage().replace("secret.mp5", "X"));
    }

    @Test
    void refusesFileUriNamingAnotherHost() {
        refused(sources, "file://evil.example/etc/passwd", ReasonCode.SOURCE_NOT_ALLOWED, "evil.example");
    }

    @Test
    void refusesEveryFileWhenNoRootsAreConfigured() {
        VideoSources none = new VideoSources(List.of(), List.of(), 0);
        refused(
                none,
                root.resolve("clip.mp4").toUri().toString(),
                ReasonCode.SOURCE_NOT_ALLOWED,
                VideoSources.FILE_ROOTS_KEY + " is empty");
        refused(none, "clip.mp4", ReasonCode.SOURCE_NOT_ALLOWED, VideoSources.FILE_ROOTS_KEY + " is empty");
    }

    // ---- URLs ----

    @Test
    void opensUrlUnderAnAllowedPrefix() throws Exception {
        VideoSources.Resolved resolved = sources.resolve(base + "/videos/ok.mp4");
        assertEquals(base + "/videos/ok.mp4", resolved.location());
        assertTrue(resolved.remote());
        assertEquals(1, requestsTo("/videos/ok.mp4"));
    }

    @Test
    void refusesUrlOnAnAllowedHostOutsideThePrefixWithoutRequestingIt() {
        refused(
                sources,
                base + "/admin/x",
                ReasonCode.SOURCE_NOT_ALLOWED,
                base + "/admin/x is not on the list " + VideoSources.URL_PREFIXES_KEY);
        refused(sources, base + "/videos-private/x", ReasonCode.SOURCE_NOT_ALLOWED, VideoSources.URL_PREFIXES_KEY);
        refused(
                sources,
                "http://127.0.0.1:1/videos/ok.mp4",
                ReasonCode.SOURCE_NOT_ALLOWED,
                VideoSources.URL_PREFIXES_KEY);
        refused(
                sources,
                base.replace("http:", "https:") + "/videos/ok.mp4",
                ReasonCode.SOURCE_NOT_ALLOWED,
                VideoSources.URL_PREFIXES_KEY);
        assertEquals(0, requestsTo("/admin/x") + requestsTo("/videos-private/x"));
    }

    @Test
    void refusesDotSegmentsInAnAllowedPrefix() {
        refused(sources, base + "/videos/../admin", ReasonCode.SOURCE_NOT_ALLOWED, "normalised");
        refused(sources, base + "/videos/%2e%2e/admin", ReasonCode.SOURCE_NOT_ALLOWED, "normalised");
        refused(sources, base + "/videos/..;/admin", ReasonCode.SOURCE_NOT_ALLOWED, "normalised");
        refused(sources, base + "/videos%2F..%2Fadmin", ReasonCode.SOURCE_NOT_ALLOWED, "normalised");
        assertTrue(REQUESTS.isEmpty(), "nothing was requested: " + REQUESTS.keySet());
    }

    @Test
    void refusesCloudMetadataAddressWithoutConnecting() {
        assertTimeoutPreemptively(
                Duration.ofSeconds(1),
                () -> refused(
                        sources,
                        "http://169.254.169.254/latest/meta-data",
                        ReasonCode.SOURCE_NOT_ALLOWED,
                        "http://169.254.169.254/latest/meta-data is not on the list " + VideoSources.URL_PREFIXES_KEY));
    }

    @Test
    void refusesUserInfoInUrl() {
        refused(
                sources,
                "http://127.0.0.1:" + server.getAddress().getPort() + "@169.254.169.254/videos/ok.mp4",
                ReasonCode.SOURCE_NOT_ALLOWED,
                "user info");
        refused(
                sources,
                "http://someone@127.0.0.1:" + server.getAddress().getPort() + "/videos/ok.mp4",
                ReasonCode.SOURCE_NOT_ALLOWED,
                "user info");
        assertEquals(0, requestsTo("/videos/ok.mp4"));
    }

    @Test
    void treatsDefaultPortAsExplicitOnBothSides() {
        VideoSources https = new VideoSources(List.of(), List.of("https://127.0.0.1/videos/"), 0);
        // Port 443 matches the prefix's implicit one, so the list lets it through to a (failed)
        // connection.
        ImageRejectedException e = assertThrows(
                ImageRejectedException.class, () -> https.resolve("https://127.0.0.1:443/videos/none.mp4"));
        assertNotEquals(ReasonCode.SOURCE_NOT_ALLOWED, e.reason(), e.getMessage());
        refused(
                https,
                "https://127.0.0.1:8443/videos/none.mp4",
                ReasonCode.SOURCE_NOT_ALLOWED,
                VideoSources.URL_PREFIXES_KEY);
    }

    @Test
    void followsRedirectInsideTheList() throws Exception {
        VideoSources.Resolved resolved = sources.resolve(base + "/videos/redirect-in");
        assertEquals(base + "/videos/ok.mp4", resolved.location());
        assertEquals(1, requestsTo("/videos/ok.mp4"));
    }

    @Test
    void refusesRedirectToAHostNotOnTheList() {
        refused(
                sources,
                base + "/videos/redirect-out",
                ReasonCode.SOURCE_NOT_ALLOWED,
                "URL http://127.0.0.2:"
                        + server.getAddress().getPort()
                        + "/videos/ok.mp4 is not on the list "
                        + VideoSources.URL_PREFIXES_KEY);
    }

    @Test
    void refusesRedirectToAFileUri() {
        refused(sources, base + "/videos/redirect-file", ReasonCode.SOURCE_NOT_ALLOWED, "file:///etc/passwd");
    }

    @Test
    void refusesMoreRedirectsThanAllowed() {
        refused(sources, base + "/videos/loop", ReasonCode.SOURCE_NOT_ALLOWED, "too many redirects");
        assertEquals(MAX_REDIRECTS + 1, requestsTo("/videos/loop"));
    }

    @Test
    void reportsHttpErrorStatusAsDecodeFailure() {
        refused(sources, base + "/videos/missing", ReasonCode.VIDEO_DECODE_FAILED, "404");
    }

    @Test
    void reportsUnreachableAllowedUrlAsDecodeFailure() throws IOException {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            closedPort = socket.getLocalPort();
        }
        String prefix = "http://127.0.0.1:" + closedPort + "/videos/";
        VideoSources unreachable = new VideoSources(List.of(), List.of(prefix), 0);
        refused(unreachable, prefix + "ok.mp4", ReasonCode.VIDEO_DECODE_FAILED, "cannot be reached");
    }

    @Test
    void refusesEveryUrlWhenNoPrefixesAreConfigured() {
        VideoSources filesOnly = new VideoSources(List.of(root), List.of(), 5);
        for (String url : List.of(
                base + "/videos/ok.mp4",
                "http://127.0.0.1:8080/x",
                "https://example.com/a.mp4",
                "http://169.254.169.254/latest/meta-data")) {
            refused(
                    filesOnly,
                    url,
                    ReasonCode.SOURCE_NOT_ALLOWED,
                    url + " is not on the list " + VideoSources.URL_PREFIXES_KEY);
        }
        assertEquals(0, requestsTo("/videos/ok.mp4"));
    }

    // ---- requests that are not sources ----

    @Test
    void rejectsUnsupportedSchemesAsBadRequests() {
        refused(sources, "ftp://127.0.0.1/videos/ok.mp4", ReasonCode.BAD_REQUEST, "ftp:");
        refused(sources, "rtsp://127.0.0.1/stream", ReasonCode.BAD_REQUEST, "rtsp:");
        refused(sources, "concat:/etc/passwd|/etc/hosts", ReasonCode.BAD_REQUEST, "concat:");
    }

    @Test
    void rejectsTextThatIsNotAUriAsBadRequest() {
        refused(sources, "http://[not-a-host/videos/a.mp4", ReasonCode.BAD_REQUEST, "not a URI");
        refused(sources, " ", ReasonCode.BAD_REQUEST, "empty");
    }

    @Test
    void rejectsMalformedUrlPrefixAtConstruction() {
        for (String prefix : List.of(
                "ftp://media.example/",
                "http://user@media.example/",
                "media.example/videos",
                "http://media.example/videos/../admin")) {
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class, () -> new VideoSources(List.of(), List.of(prefix), 0), prefix);
            assertTrue(e.getMessage().contains(VideoSources.URL_PREFIXES_KEY), e.getMessage());
        }
    }

    @Test
    void protocolWhitelistKeepsFfmpegOnTheSourcesProtocols() {
        assertEquals("file", VideoSources.protocolWhitelist(new VideoSources.Resolved("/srv/media/a.mp4", false)));
        assertEquals(
                "http,https,tcp,tls",
                VideoSources.protocolWhitelist(new VideoSources.Resolved("https://media.example/a.mp4", true)));
    }
}
