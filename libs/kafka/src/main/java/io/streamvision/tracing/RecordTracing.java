package io.streamvision.tracing;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.context.propagation.TextMapSetter;
import io.streamvision.kafka.TransactionalLoop;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * OpenTelemetry spans for the records the services consume and produce: a span per consumed record
 * whose parent is the W3C {@code traceparent} header of the record (a new trace when it has none),
 * and that span's context written into the headers of every record made from it, so that one image
 * or one video is one trace from the first topic to the last. With tracing off (the default: the
 * SDK disabled, or no OpenTelemetry at all) every span is a no-op and headers pass through as they
 * came.
 *
 * <p>Thread-safe.
 */
public final class RecordTracing {

    /** No spans; headers are left as they are. */
    public static final RecordTracing OFF = new RecordTracing(OpenTelemetry.noop());

    private static final TextMapGetter<Headers> FROM_HEADERS = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Headers headers) {
            List<String> keys = new ArrayList<>();
            for (Header h : headers) {
                keys.add(h.key());
            }
            return keys;
        }

        @Override
        public String get(Headers headers, String key) {
            if (headers == null) {
                return null;
            }
            Header h = headers.lastHeader(key);
            return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
        }
    };

    private static final TextMapSetter<Headers> TO_HEADERS = (headers, key, value) -> {
        if (headers != null) {
            headers.remove(key);
            headers.add(key, value.getBytes(StandardCharsets.UTF_8));
        }
    };

    /** Handles one consumed record, adding what it makes to {@code out}. */
    @FunctionalInterface
    public interface RecordHandler {
        void handle(ConsumerRecord<byte[], byte[]> record, List<ProducerRecord<byte[], byte[]>> out) throws Exception;
    }

    private final Tracer tracer;
    private final TextMapPropagator propagator;

    public RecordTracing(OpenTelemetry otel) {
        this.tracer = otel.getTracer("io.streamvision");
        this.propagator = otel.getPropagators().getTextMapPropagator();
    }

    /** The trace context the record's headers carry (the root context when they carry none). */
    public Context context(Headers headers) {
        return headers == null ? Context.root() : propagator.extract(Context.root(), headers, FROM_HEADERS);
    }

    /** Starts a CONSUMER span for a consumed record, a child of the context its headers carry. */
    public Span consume(String name, Headers headers) {
        return tracer.spanBuilder(name)
                .setParent(context(headers))
                .setSpanKind(SpanKind.CONSUMER)
                .startSpan();
    }

    /** Starts an INTERNAL span, a child of the current context. */
    public Span span(String name) {
        return tracer.spanBuilder(name).startSpan();
    }

    /** A span builder, for spans with links or explicit times. */
    public SpanBuilder builder(String name) {
        return tracer.spanBuilder(name);
    }

    /**
     * A span of {@code parent}'s trace that started {@code sinceNanos} of {@link System#nanoTime()}
     * and ends now: time spent waiting, measured before anyone knew it would be traced.
     */
    public void elapsed(String name, Context parent, long sinceNanos) {
        long now = System.nanoTime();
        long endEpochNanos = TimeUnit.MILLISECONDS.toNanos(System.currentTimeMillis());
        tracer.spanBuilder(name)
                .setParent(parent)
                .setStartTimestamp(endEpochNanos - (now - sinceNanos), TimeUnit.NANOSECONDS)
                .startSpan()
                .end(endEpochNanos, TimeUnit.NANOSECONDS);
    }

    /**
     * A loop handler that runs {@code handler} for each record of a batch inside its own CONSUMER
     * span ({@link #consume}); every record it adds to {@code out} carries that span's context.
     */
    public TransactionalLoop.BatchHandler eachInSpan(String name, RecordHandler handler) {
        return (records, out) -> {
            for (ConsumerRecord<byte[], byte[]> record : records) {
                int first = out.size();
                Span span = consume(name, record.headers());
                try (Scope scope = span.makeCurrent()) {
                    handler.handle(record, out);
                } catch (Exception e) {
                    span.setStatus(StatusCode.ERROR, String.valueOf(e.getMessage()));
                    throw e;
                } finally {
                    for (int i = first; i < out.size(); i++) {
                        inject(span, out.get(i).headers());
                    }
                    span.end();
                }
            }
        };
    }

    /**
     * Writes {@code span}'s context into {@code headers} ({@code traceparent}, and {@code
     * tracestate} when set), replacing what was there; leaves them alone when the span is not
     * recorded (tracing off).
     */
    public void inject(Span span, Headers headers) {
        SpanContext context = span.getSpanContext();
        if (context.isValid()) {
            propagator.inject(Context.root().with(span), headers, TO_HEADERS);
        }
    }
}
