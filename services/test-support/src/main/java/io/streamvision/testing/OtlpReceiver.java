package io.streamvision.testing;

import com.google.protobuf.CodedInputStream;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A trace collector for tests: an OTLP/HTTP endpoint ({@code POST /v1/traces}, protobuf, as the
 * services' exporter sends with {@code quarkus.otel.exporter.otlp.traces.protocol=http/protobuf})
 * that keeps every span it receives. Reads the fields of the OTLP trace messages a test needs
 * straight from the wire (field numbers of {@code opentelemetry/proto/trace/v1/trace.proto}).
 */
public final class OtlpReceiver implements AutoCloseable {

    /**
     * One received span; ids in lower-case hex, {@code parentSpanId} empty for a root.
     *
     * @param service the {@code service.name} of the resource that sent it
     * @param links span ids this span links to
     */
    public record ReceivedSpan(
            String service, String traceId, String spanId, String parentSpanId, String name, List<String> links) {}

    private final HttpServer server;
    private final List<ReceivedSpan> spans = new CopyOnWriteArrayList<>();

    public OtlpReceiver() throws IOException {
        server = HttpServer.create(new InetSocketAddress("localhost", 0), 0);
        server.createContext("/v1/traces", exchange -> {
            try (InputStream body = exchange.getRequestBody()) {
                spans.addAll(exportRequest(CodedInputStream.newInstance(body.readAllBytes())));
                exchange.getResponseHeaders().add("Content-Type", "application/x-protobuf");
                exchange.sendResponseHeaders(200, 0);
            } catch (IOException | RuntimeException e) {
                exchange.sendResponseHeaders(400, -1);
            } finally {
                exchange.close();
            }
        });
        server.start();
    }

    /** The base URL to give an exporter as its traces endpoint. */
    public String endpoint() {
        return "http://localhost:" + server.getAddress().getPort();
    }

    /** Every span received so far. */
    public List<ReceivedSpan> spans() {
        return List.copyOf(spans);
    }

    /** The spans of one trace received so far. */
    public List<ReceivedSpan> trace(String traceId) {
        return spans.stream().filter(s -> s.traceId().equals(traceId)).toList();
    }

    @Override
    public void close() {
        server.stop(0);
    }

    private static List<ReceivedSpan> exportRequest(CodedInputStream in) throws IOException {
        List<ReceivedSpan> out = new ArrayList<>();
        for (int tag; (tag = in.readTag()) != 0; ) {
            if (tag >>> 3 == 1) { // resource_spans
                out.addAll(resourceSpans(sub(in)));
            } else {
                in.skipField(tag);
            }
        }
        return out;
    }

    private static List<ReceivedSpan> resourceSpans(CodedInputStream in) throws IOException {
        String service = "";
        List<byte[]> scopes = new ArrayList<>();
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (tag >>> 3) {
                case 1 -> service = serviceName(sub(in)); // resource
                case 2 -> scopes.add(in.readByteArray()); // scope_spans
                default -> in.skipField(tag);
            }
        }
        List<ReceivedSpan> out = new ArrayList<>();
        for (byte[] scope : scopes) {
            CodedInputStream s = CodedInputStream.newInstance(scope);
            for (int tag; (tag = s.readTag()) != 0; ) {
                if (tag >>> 3 == 2) { // spans
                    out.add(span(service, sub(s)));
                } else {
                    s.skipField(tag);
                }
            }
        }
        return out;
    }

    /** The {@code service.name} attribute of a Resource. */
    private static String serviceName(CodedInputStream resource) throws IOException {
        String name = "";
        for (int tag; (tag = resource.readTag()) != 0; ) {
            if (tag >>> 3 == 1) { // attributes: KeyValue { key = 1; AnyValue value = 2 }
                CodedInputStream kv = sub(resource);
                String key = "";
                String value = "";
                for (int t; (t = kv.readTag()) != 0; ) {
                    switch (t >>> 3) {
                        case 1 -> key = kv.readStringRequireUtf8();
                        case 2 -> value = stringValue(sub(kv));
                        default -> kv.skipField(t);
                    }
                }
                if (key.equals("service.name")) {
                    name = value;
                }
            } else {
                resource.skipField(tag);
            }
        }
        return name;
    }

    private static String stringValue(CodedInputStream any) throws IOException {
        String value = "";
        for (int tag; (tag = any.readTag()) != 0; ) {
            if (tag >>> 3 == 1) {
                value = any.readStringRequireUtf8();
            } else {
                any.skipField(tag);
            }
        }
        return value;
    }

    private static ReceivedSpan span(String service, CodedInputStream in) throws IOException {
        String traceId = "";
        String spanId = "";
        String parent = "";
        String name = "";
        List<String> links = new ArrayList<>();
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (tag >>> 3) {
                case 1 -> traceId = hex(in.readByteArray());
                case 2 -> spanId = hex(in.readByteArray());
                case 4 -> parent = hex(in.readByteArray());
                case 5 -> name = in.readStringRequireUtf8();
                case 13 -> { // links: Link { trace_id = 1; span_id = 2 }
                    CodedInputStream link = sub(in);
                    for (int t; (t = link.readTag()) != 0; ) {
                        if (t >>> 3 == 2) {
                            links.add(hex(link.readByteArray()));
                        } else {
                            link.skipField(t);
                        }
                    }
                }
                default -> in.skipField(tag);
            }
        }
        return new ReceivedSpan(service, traceId, spanId, parent, name, List.copyOf(links));
    }

    private static CodedInputStream sub(CodedInputStream in) throws IOException {
        return CodedInputStream.newInstance(in.readByteArray());
    }

    private static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }
}
