package io.streamvision.tracing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.streamvision.kafka.RecordHeaders;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

class RecordTracingTest {

    private static final String CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    private static ConsumerRecord<byte[], byte[]> consumed(String traceparent) {
        ConsumerRecord<byte[], byte[]> r =
                new ConsumerRecord<>("in", 0, 7, "k".getBytes(StandardCharsets.UTF_8), new byte[0]);
        if (traceparent != null) {
            r.headers().add(RecordHeaders.TRACEPARENT, traceparent.getBytes(StandardCharsets.UTF_8));
        }
        return r;
    }

    private static List<ProducerRecord<byte[], byte[]>> handle(RecordTracing tracing, ConsumerRecord<byte[], byte[]> in)
            throws Exception {
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        tracing.eachInSpan("work", (record, sink) -> {
                    ProducerRecord<byte[], byte[]> made = new ProducerRecord<>("out", record.key(), new byte[0]);
                    RecordHeaders.propagate(record.headers(), made.headers());
                    sink.add(made);
                })
                .handle(List.of(in), out);
        return out;
    }

    @Test
    void offLeavesTheHeadersAsTheyCame() throws Exception {
        List<ProducerRecord<byte[], byte[]>> out = handle(RecordTracing.OFF, consumed(CALLER));
        assertEquals(CALLER, RecordHeaders.text(out.get(0).headers(), RecordHeaders.TRACEPARENT));
        out = handle(RecordTracing.OFF, consumed(null));
        assertNull(RecordHeaders.text(out.get(0).headers(), RecordHeaders.TRACEPARENT), "no trace is made up");
    }

    @Test
    void onEachRecordIsASpanOfItsCallersTraceAndItsOutputsCarryThatSpan() throws Exception {
        InMemorySpanExporter spans = InMemorySpanExporter.create();
        OpenTelemetrySdk otel = OpenTelemetrySdk.builder()
                .setTracerProvider(SdkTracerProvider.builder()
                        .addSpanProcessor(SimpleSpanProcessor.create(spans))
                        .build())
                .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
                .build();
        RecordTracing tracing = new RecordTracing(otel);

        List<ProducerRecord<byte[], byte[]>> out = handle(tracing, consumed(CALLER));
        SpanData work = spans.getFinishedSpanItems().get(0);
        assertEquals("4bf92f3577b34da6a3ce929d0e0e4736", work.getTraceId(), "the caller's trace");
        assertEquals("00f067aa0ba902b7", work.getParentSpanId(), "the caller's span is the parent");
        assertEquals(
                "00-" + work.getTraceId() + "-" + work.getSpanId() + "-01",
                RecordHeaders.text(out.get(0).headers(), RecordHeaders.TRACEPARENT),
                "the output continues from this span");

        spans.reset();
        out = handle(tracing, consumed(null));
        SpanData root = spans.getFinishedSpanItems().get(0);
        assertTrue(!root.getParentSpanContext().isValid(), "no caller: a new trace");
        assertTrue(RecordHeaders.text(out.get(0).headers(), RecordHeaders.TRACEPARENT)
                .contains(root.getTraceId()));

        spans.reset();
        assertThrows(
                IllegalStateException.class,
                () -> tracing.eachInSpan("failing", (record, sink) -> {
                            throw new IllegalStateException("broken");
                        })
                        .handle(List.of(consumed(CALLER)), new ArrayList<>()));
        assertEquals(
                StatusCode.ERROR,
                spans.getFinishedSpanItems().get(0).getStatus().getStatusCode());

        spans.reset();
        long since = System.nanoTime() - 5_000_000;
        Span parent = tracing.consume("request", consumed(CALLER).headers());
        tracing.elapsed("queue wait", Context.root().with(parent), since);
        parent.end();
        SpanData wait = spans.getFinishedSpanItems().get(0);
        assertEquals(parent.getSpanContext().getSpanId(), wait.getParentSpanId());
        assertTrue(wait.getEndEpochNanos() - wait.getStartEpochNanos() >= 5_000_000, "it lasted the wait");
    }
}
