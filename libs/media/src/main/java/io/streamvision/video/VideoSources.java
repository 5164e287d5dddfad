package io.streamvision.video;

import io.streamvision.imaging.ImageRejectedException;
import io.streamvision.proto.vision.v1.ReasonCode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Decides whether a video source named in a request may be opened, so that a request cannot make
 * the service read local files or fetch arbitrary URLs (SSRF). A source is allowed when it is a
 * file under one of the configured directories ({@value #FILE_ROOTS_KEY}) or an {@code http(s)} URL
 * under one of the configured prefixes ({@value #URL_PREFIXES_KEY}); with no prefixes, no URL is
 * allowed. Redirects are followed here, hop by hop, each hop checked against the list, and FFmpeg
 * is given the final URL.
 *
 * <p>The check trusts the listed servers: FFmpeg fetches the final URL again, and a listed server
 * that answers that second request with a redirect elsewhere is not stopped here. {@link
 * #protocolWhitelist} keeps FFmpeg itself on the protocols of the source.
 *
 * <p>Thread-safe: immutable, and the one {@link HttpClient} is shared by all callers.
 */
public final class VideoSources {

    /** Config key of the directories files may be read from. */
    public static final String FILE_ROOTS_KEY = "vision.preprocess.video.sources.file-roots";

    /** Config key of the URL prefixes videos may be fetched from. */
    public static final String URL_PREFIXES_KEY = "vision.preprocess.video.sources.url-prefixes";

    private static final String LOCAL_PROTOCOLS = "file";
    private static final String REMOTE_PROTOCOLS = "http,https,tcp,tls";
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

    /** Same bound as Linux's MAXSYMLINKS, for the walk that explains a failed toRealPath. */
    private static final int MAX_SYMLINKS = 40;

    private static final Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*:");

    /**
     * What FFmpeg may open: a local absolute path, or an http(s) URL whose every redirect hop was
     * checked.
     */
    public record Resolved(String location, boolean remote) {}

    /** One entry of {@value #URL_PREFIXES_KEY}, with the default port made explicit. */
    private record UrlPrefix(String scheme, String host, int port, List<String> segments) {}

    /** A root as configured (absolute, normalised) and as it is on disk. */
    private record FileRoot(Path configured, Path real) {}

    private final List<FileRoot> fileRoots;
    private final List<UrlPrefix> urlPrefixes;
    private final int maxRedirects;

    /** Null when no URL is allowed: nothing to fetch, so no client threads. */
    private final HttpClient http;

    /**
     * @param fileRoots directories under which file: URIs may point (resolved with toRealPath when
     *     they exist, once, here; a root created later is compared as configured, which can only
     *     refuse more)
     * @param urlPrefixes allowed URL prefixes, "scheme://host[:port]/path-prefix"
     * @param maxRedirects hops followed for http(s)
     * @throws IllegalArgumentException when a prefix is not an http(s) URL with a host, or
     *     maxRedirects is negative
     */
    public VideoSources(List<Path> fileRoots, List<String> urlPrefixes, int maxRedirects) {
        if (maxRedirects < 0) {
            throw new IllegalArgumentException("maxRedirects must be 0 or more, not " + maxRedirects);
        }
        List<FileRoot> roots = new ArrayList<>();
        for (Path root : fileRoots) {
            Path configured = root.toAbsolutePath().normalize();
            Path real = configured;
            try {
                real = configured.toRealPath();
            } catch (IOException e) {
                // A root that does not exist yet holds no files; the configured form is all we
                // have.
            }
            roots.add(new FileRoot(configured, real));
        }
        List<UrlPrefix> prefixes = new ArrayList<>();
        for (String prefix : urlPrefixes) {
            prefixes.add(parsePrefix(prefix));
        }
        this.fileRoots = List.copyOf(roots);
        this.urlPrefixes = List.copyOf(prefixes);
        this.maxRedirects = maxRedirects;
        this.http = prefixes.isEmpty()
                ? null
                : HttpClient.newBuilder()
                        .followRedirects(HttpClient.Redirect.NEVER)
                        .connectTimeout(CONNECT_TIMEOUT)
                        .version(HttpClient.Version.HTTP_1_1)
                        .build();
    }

    /**
     * Checks a request's URI: a {@code file:} URI, a plain path (a relative one is taken against
     * the first root) or an {@code http(s):} URL.
     *
     * @return what FFmpeg may open
     * @throws ImageRejectedException {@link ReasonCode#SOURCE_NOT_ALLOWED} when the source is
     *     outside the allow-list; {@link ReasonCode#BAD_REQUEST} when it is not a URI or has an
     *     unsupported scheme; {@link ReasonCode#VIDEO_DECODE_FAILED} when an allowed file does not
     *     exist or an allowed URL cannot be reached
     */
    public Resolved resolve(String uri) throws ImageRejectedException {
        if (uri == null || uri.isBlank()) {
            throw new ImageRejectedException(ReasonCode.BAD_REQUEST, "video URI is empty");
        }
        if (!SCHEME.matcher(uri).find()) {
            return resolveFile(plainPath(uri));
        }
        URI parsed;
        try {
            parsed = new URI(uri);
        } catch (URISyntaxException e) {
            throw new ImageRejectedException(
                    ReasonCode.BAD_REQUEST, "video URI '" + uri + "' is not a URI: " + e.getReason());
        }
        String scheme = parsed.getScheme().toLowerCase(Locale.ROOT);
        switch (scheme) {
            case "file":
                return resolveFile(fileUriPath(parsed));
            case "http":
            case "https":
                return resolveUrl(withoutFragment(parsed));
            default:
                throw new ImageRejectedException(
                        ReasonCode.BAD_REQUEST,
                        "video URI scheme '" + parsed.getScheme() + ":' is not supported; use file: or http(s):");
        }
    }

    /**
     * The ffmpeg protocol_whitelist value to set on the demuxer for a resolved source, so that
     * playlists and nested formats cannot reach other protocols.
     *
     * @return "file" for local, "http,https,tcp,tls" for remote
     */
    public static String protocolWhitelist(Resolved resolved) {
        return resolved.remote() ? REMOTE_PROTOCOLS : LOCAL_PROTOCOLS;
    }

    // ---- files ----

    private Path plainPath(String text) throws ImageRejectedException {
        Path path;
        try {
            path = Path.of(text);
        } catch (InvalidPathException e) {
            throw new ImageRejectedException(
                    ReasonCode.BAD_REQUEST, "video path '" + text + "' is not a path: " + e.getReason());
        }
        if (path.isAbsolute()) {
            return path;
        }
        if (fileRoots.isEmpty()) {
            throw new ImageRejectedException(
                    ReasonCode.SOURCE_NOT_ALLOWED,
                    "file " + text + " is not allowed: " + FILE_ROOTS_KEY + " is empty, so no file is allowed");
        }
        return fileRoots.get(0).configured().resolve(path);
    }

    private static Path fileUriPath(URI uri) throws ImageRejectedException {
        if (uri.isOpaque() || uri.getPath() == null || uri.getPath().isEmpty()) {
            throw new ImageRejectedException(
                    ReasonCode.BAD_REQUEST, "file URI '" + uri + "' has no absolute path; write file:/absolute/path");
        }
        String authority = uri.getRawAuthority();
        if (authority != null && !authority.isEmpty() && !authority.equalsIgnoreCase("localhost")) {
            throw new ImageRejectedException(
                    ReasonCode.SOURCE_NOT_ALLOWED,
                    "file URI '"
                            + uri
                            + "' names host '"
                            + authority
                            + "'; only local files (no host, or localhost) are allowed");
        }
        if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
            throw new ImageRejectedException(
                    ReasonCode.BAD_REQUEST, "file URI '" + uri + "' has a query or fragment, which files do not have");
        }
        try {
            // getPath() is percent-decoded, so an encoded "%2e%2e" is a ".." that normalize()
            // removes.
            return Path.of(uri.getPath());
        } catch (InvalidPathException e) {
            throw new ImageRejectedException(
                    ReasonCode.BAD_REQUEST, "file URI '" + uri + "' is not a path: " + e.getReason());
        }
    }

    private Resolved resolveFile(Path requested) throws ImageRejectedException {
        Path normalised = requested.toAbsolutePath().normalize();
        // Decided on the name alone, before touching the file system, so that the answer for a
        // path outside the roots says nothing about whether it exists.
        if (!underConfiguredRoot(normalised)) {
            throw outsideRoots(normalised);
        }
        Path real;
        try {
            real = normalised.toRealPath();
        } catch (IOException e) {
            // Where the path would lead decides the answer, so a dangling link out of a root is
            // refused exactly like a link to a file that exists.
            if (!underRealRoot(followAsFarAsPossible(normalised))) {
                throw linksOut(normalised);
            }
            if (e instanceof NoSuchFileException) {
                throw new ImageRejectedException(
                        ReasonCode.VIDEO_DECODE_FAILED, "video file " + normalised + ": no such file");
            }
            throw new ImageRejectedException(
                    ReasonCode.VIDEO_DECODE_FAILED,
                    "video file "
                            + normalised
                            + " cannot be read ("
                            + e.getClass().getSimpleName()
                            + ")",
                    e);
        }
        if (!underRealRoot(real)) {
            throw linksOut(normalised);
        }
        if (!Files.isRegularFile(real)) {
            throw new ImageRejectedException(
                    ReasonCode.VIDEO_DECODE_FAILED, "video file " + normalised + " is not a regular file");
        }
        return new Resolved(real.toString(), false);
    }

    private boolean underConfiguredRoot(Path path) {
        for (FileRoot root : fileRoots) {
            if (path.startsWith(root.configured()) || path.startsWith(root.real())) {
                return true;
            }
        }
        return false;
    }

    private boolean underRealRoot(Path real) {
        for (FileRoot root : fileRoots) {
            if (real.startsWith(root.real())) {
                return true;
            }
        }
        return false;
    }

    private ImageRejectedException outsideRoots(Path path) {
        String why = fileRoots.isEmpty()
                ? FILE_ROOTS_KEY + " is empty, so no file is allowed"
                : "it is not under a directory listed in " + FILE_ROOTS_KEY;
        return new ImageRejectedException(ReasonCode.SOURCE_NOT_ALLOWED, "file " + path + " is not allowed: " + why);
    }

    private static ImageRejectedException linksOut(Path path) {
        // The target is not named: it would tell the requester about the layout outside the roots.
        return new ImageRejectedException(
                ReasonCode.SOURCE_NOT_ALLOWED,
                "file "
                        + path
                        + " is not allowed: it leads through a symbolic link out of the directories listed in "
                        + FILE_ROOTS_KEY);
    }

    /**
     * Resolves links one component at a time, as the kernel would, up to the first component that
     * is missing or unreadable, and returns where the path would lead from there.
     */
    private static Path followAsFarAsPossible(Path path) {
        Path current = path.getRoot();
        Deque<String> pending = new ArrayDeque<>();
        path.forEach(name -> pending.addLast(name.toString()));
        int links = 0;
        while (!pending.isEmpty()) {
            String name = pending.removeFirst();
            if (name.equals(".")) {
                continue;
            }
            if (name.equals("..")) {
                // current never holds a link, so its parent is where ".." really goes.
                current = current.getParent() != null ? current.getParent() : current;
                continue;
            }
            Path next = current.resolve(name);
            if (links < MAX_SYMLINKS && Files.isSymbolicLink(next)) {
                try {
                    Path target = Files.readSymbolicLink(next);
                    links++;
                    List<String> names = new ArrayList<>();
                    target.forEach(n -> names.add(n.toString()));
                    for (int i = names.size() - 1; i >= 0; i--) {
                        pending.addFirst(names.get(i));
                    }
                    if (target.isAbsolute()) {
                        current = target.getRoot();
                    }
                    continue;
                } catch (IOException e) {
                    // Unreadable link: treated as missing below.
                }
            }
            if (!Files.exists(next, LinkOption.NOFOLLOW_LINKS)) {
                Path rest = next;
                for (String n : pending) {
                    rest = rest.resolve(n);
                }
                return rest.normalize();
            }
            current = next;
        }
        return current;
    }

    // ---- URLs ----

    private static URI withoutFragment(URI uri) {
        if (uri.getRawFragment() == null) {
            return uri;
        }
        String text = uri.toString();
        return URI.create(text.substring(0, text.indexOf('#')));
    }

    private Resolved resolveUrl(URI url) throws ImageRejectedException {
        checkUrl(url, null);
        URI current = url;
        for (int hop = 0; ; hop++) {
            HttpResponse<Void> response = probe(current);
            int status = response.statusCode();
            if (status >= 200 && status < 300) {
                return new Resolved(current.toString(), true);
            }
            if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
                if (hop == maxRedirects) {
                    throw new ImageRejectedException(
                            ReasonCode.SOURCE_NOT_ALLOWED,
                            "too many redirects from " + url + " (more than " + maxRedirects + ")");
                }
                URI next = redirectTarget(current, response);
                checkUrl(next, current);
                current = next;
                continue;
            }
            throw new ImageRejectedException(
                    ReasonCode.VIDEO_DECODE_FAILED, "video URL " + current + " answered HTTP " + status);
        }
    }

    private HttpResponse<Void> probe(URI url) throws ImageRejectedException {
        HttpRequest request;
        try {
            // One byte is enough to learn the status; the body is FFmpeg's to read.
            request = HttpRequest.newBuilder(url)
                    .timeout(REQUEST_TIMEOUT)
                    .header("Range", "bytes=0-0")
                    .GET()
                    .build();
        } catch (IllegalArgumentException e) {
            throw new ImageRejectedException(
                    ReasonCode.BAD_REQUEST, "video URL " + url + " cannot be requested: " + e.getMessage());
        }
        try {
            return http.send(request, HttpResponse.BodyHandlers.discarding());
        } catch (IOException e) {
            throw new ImageRejectedException(
                    ReasonCode.VIDEO_DECODE_FAILED, "video URL " + url + " cannot be reached: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImageRejectedException(ReasonCode.VIDEO_DECODE_FAILED, "interrupted while fetching " + url, e);
        }
    }

    private static URI redirectTarget(URI from, HttpResponse<Void> response) throws ImageRejectedException {
        String location = response.headers().firstValue("Location").orElse(null);
        if (location == null || location.isBlank()) {
            throw new ImageRejectedException(
                    ReasonCode.VIDEO_DECODE_FAILED,
                    "video URL " + from + " answered HTTP " + response.statusCode() + " without a Location");
        }
        try {
            return withoutFragment(from.resolve(new URI(location.strip())));
        } catch (URISyntaxException | IllegalArgumentException e) {
            throw new ImageRejectedException(
                    ReasonCode.VIDEO_DECODE_FAILED,
                    "video URL " + from + " redirects to '" + location + "', which is not a URI");
        }
    }

    /**
     * @param redirectFrom the URL that redirected here, or null for the request's own URL; a
     *     redirect somewhere unusable is the server's doing, so it is refused rather than reported
     *     as a bad request
     */
    private void checkUrl(URI url, URI redirectFrom) throws ImageRejectedException {
        String context = redirectFrom == null ? "" : "redirect from " + redirectFrom + " refused: ";
        ReasonCode malformed = redirectFrom == null ? ReasonCode.BAD_REQUEST : ReasonCode.SOURCE_NOT_ALLOWED;
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new ImageRejectedException(malformed, context + "URL " + url + " is not http(s)");
        }
        String authority = url.getRawAuthority();
        if (url.getRawUserInfo() != null || (authority != null && authority.contains("@"))) {
            // user@host is how "http://allowed.example@evil/" smuggles another host past a reader.
            throw new ImageRejectedException(
                    ReasonCode.SOURCE_NOT_ALLOWED,
                    context + "URL for host " + url.getHost() + " carries user info (user@host), which is not allowed");
        }
        if (url.getHost() == null || url.isOpaque()) {
            throw new ImageRejectedException(malformed, context + "URL " + url + " has no host");
        }
        List<String> segments = segments(url.getRawPath());
        for (String segment : segments) {
            if (!isPlainSegment(segment)) {
                throw new ImageRejectedException(
                        ReasonCode.SOURCE_NOT_ALLOWED,
                        context
                                + "URL "
                                + url
                                + " is not allowed: its path has '.' or '..' segments, encoded separators or control"
                                + " characters; only normalised paths are allowed");
            }
        }
        String host = url.getHost().toLowerCase(Locale.ROOT);
        int port = effectivePort(scheme, url.getPort());
        for (UrlPrefix prefix : urlPrefixes) {
            if (prefix.scheme().equals(scheme)
                    && prefix.host().equals(host)
                    && prefix.port() == port
                    && segments.size() >= prefix.segments().size()
                    && segments.subList(0, prefix.segments().size()).equals(prefix.segments())) {
                return;
            }
        }
        String why = urlPrefixes.isEmpty() ? " (the list is empty, so no URL is allowed)" : "";
        throw new ImageRejectedException(
                ReasonCode.SOURCE_NOT_ALLOWED,
                context + "URL " + url + " is not on the list " + URL_PREFIXES_KEY + why);
    }

    private static boolean isPlainSegment(String decoded) {
        // Servers such as Tomcat drop ";params" before resolving dot segments, so "..;" is "..".
        int params = decoded.indexOf(';');
        String bare = params < 0 ? decoded : decoded.substring(0, params);
        if (bare.equals(".") || bare.equals("..")) {
            return false;
        }
        for (int i = 0; i < decoded.length(); i++) {
            char c = decoded.charAt(i);
            if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f) {
                return false;
            }
        }
        return true;
    }

    private static UrlPrefix parsePrefix(String text) {
        URI uri;
        try {
            uri = new URI(text.strip());
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(URL_PREFIXES_KEY + ": '" + text + "' is not a URL: " + e.getReason());
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException(URL_PREFIXES_KEY + ": '" + text + "' is not an http(s) URL");
        }
        if (uri.getHost() == null
                || uri.getRawUserInfo() != null
                || uri.getRawQuery() != null
                || uri.getRawFragment() != null) {
            throw new IllegalArgumentException(URL_PREFIXES_KEY
                    + ": '"
                    + text
                    + "' must be scheme://host[:port]/path-prefix, without user info, query or fragment");
        }
        List<String> segments = new ArrayList<>(segments(uri.getRawPath()));
        // "/videos/" and "/videos" mean the same directory; the trailing empty segment would
        // otherwise demand a double slash.
        while (!segments.isEmpty() && segments.get(segments.size() - 1).isEmpty()) {
            segments.remove(segments.size() - 1);
        }
        for (String segment : segments) {
            if (!isPlainSegment(segment)) {
                throw new IllegalArgumentException(
                        URL_PREFIXES_KEY + ": '" + text + "' has a path that is not" + " normalised");
            }
        }
        return new UrlPrefix(
                scheme,
                uri.getHost().toLowerCase(Locale.ROOT),
                effectivePort(scheme, uri.getPort()),
                List.copyOf(segments));
    }

    private static int effectivePort(String scheme, int port) {
        if (port >= 0) {
            return port;
        }
        return scheme.equals("https") ? 443 : 80;
    }

    /**
     * Splits a raw path at its literal slashes and decodes each segment, so that an encoded slash
     * stays inside its segment (and is refused) instead of moving the boundary.
     */
    private static List<String> segments(String rawPath) {
        if (rawPath == null || rawPath.isEmpty() || rawPath.equals("/")) {
            return List.of();
        }
        String path = rawPath.startsWith("/") ? rawPath.substring(1) : rawPath;
        List<String> segments = new ArrayList<>();
        for (String raw : path.split("/", -1)) {
            segments.add(percentDecode(raw));
        }
        return segments;
    }

    /**
     * Percent-decoding as in a URI path (a '+' stays a '+'); java.net.URI has already validated the
     * escapes.
     */
    private static String percentDecode(String raw) {
        if (raw.indexOf('%') < 0) {
            return raw;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(raw.length());
        int i = 0;
        while (i < raw.length()) {
            if (raw.charAt(i) == '%' && i + 2 < raw.length()) {
                bytes.write(Integer.parseInt(raw, i + 1, i + 3, 16));
                i += 3;
            } else {
                int end = raw.indexOf('%', i + 1);
                end = end < 0 ? raw.length() : end;
                bytes.writeBytes(raw.substring(i, end).getBytes(StandardCharsets.UTF_8));
                i = end;
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
