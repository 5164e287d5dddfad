package io.streamvision.captioning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.streamvision.kafka.RecordHeaders;
import io.streamvision.kafka.Topics;
import io.streamvision.proto.vision.v1.CaptionRequest;
import io.streamvision.proto.vision.v1.VisionServiceGrpc;
import io.streamvision.testing.KafkaBrokerExtension;
import io.streamvision.testing.OtlpReceiver;
import io.streamvision.testing.OtlpReceiver.ReceivedSpan;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TestClients;
import io.streamvision.testing.TestModels;
import io.streamvision.testing.TopicCollector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * OpenTelemetry end to end: the three packaged services export to an OTLP/HTTP collector (here a
 * receiver in the test). An image sent without a trace becomes one trace whose spans follow the
 * pipeline (preprocess, its decode and resize, scoring with its queue wait and a batch span linked
 * to it, captioning), the result record carrying the trace; a video is one trace (plan, segments,
 * frames scored); a gRPC Caption call is one trace across captioning and scoring.
 */
@ExtendWith(KafkaBrokerExtension.class)
class TracingProcessIT {

    static final String SUFFIX = ".it-trace";

    @Test
    void imagesVideosAndCaptionCallsAreEachOneTrace() throws Exception {
        TestBroker broker = TestBrokers.shared();
        Path models = TestModels.dir();
        Topics topics = new Topics(SUFFIX);
        try (OtlpReceiver collector = new OtlpReceiver();
                ThreeServices services = new ThreeServices(
                        broker,
                        SUFFIX,
                        "it-trace",
                        18190,
                        Map.of(
                                "quarkus.otel.sdk.disabled", "false",
                                "quarkus.otel.exporter.otlp.traces.endpoint", collector.endpoint(),
                                "quarkus.otel.exporter.otlp.traces.protocol", "http/protobuf",
                                "quarkus.otel.bsp.schedule.delay", "100ms"))) {
            Path image = models.getParent().resolve("samples/items/0-t-shirt-test19.png");

            try (TopicCollector results = broker.collect(topics.results().name())) {
                TestClients.send(broker.bootstrapServers(), List.of(PipelineRequests.image(topics, "traced-1", image)));
                assertEquals(1, results.awaitAtLeast(1, Duration.ofSeconds(120)), "a result");
                ConsumerRecord<byte[], byte[]> result = results.records().get(0);
                String traceparent = RecordHeaders.text(result.headers(), "traceparent");
                assertTrue(traceparent != null && traceparent.startsWith("00-"), "the result carries a trace");
                String traceId = traceparent.split("-")[1];

                List<ReceivedSpan> trace = awaitSpans(
                        collector,
                        traceId,
                        spans -> find(spans, "captioning", "caption").isPresent());
                ReceivedSpan preprocess = find(trace, "preprocess", "preprocess image")
                        .orElseThrow(() -> new AssertionError("no preprocess span: " + trace));
                assertEquals("", preprocess.parentSpanId(), "the image started the trace: " + trace);
                assertChild(trace, "preprocess", "decode", preprocess);
                assertChild(trace, "preprocess", "resize", preprocess);
                List<ReceivedSpan> scores = trace.stream()
                        .filter(s -> s.service().equals("scoring") && s.name().equals("score"))
                        .toList();
                assertEquals(2, scores.size(), "one score span per model (fashion-cnn, encoder): " + trace);
                for (ReceivedSpan score : scores) {
                    assertEquals(preprocess.spanId(), score.parentSpanId(), "score follows preprocess");
                    assertChild(trace, "scoring", "queue wait", score);
                    assertTrue(
                            collector.spans().stream()
                                    .anyMatch(s -> s.name().startsWith("batch ")
                                            && s.links().contains(score.spanId())),
                            "a batch span links to the request: " + collector.spans());
                }
                ReceivedSpan caption = find(trace, "captioning", "caption").orElseThrow();
                assertTrue(
                        scores.stream().anyMatch(s -> s.spanId().equals(caption.parentSpanId())),
                        "caption follows the encoder's score span: " + trace);
                assertTrue(
                        collector.spans().stream()
                                .anyMatch(s -> s.name().equals("decode search")
                                        && s.links().contains(caption.spanId())),
                        "the decode search links to the caption");
                System.out.printf(
                        "[tracing IT] image trace %s: %d spans from %s%n",
                        traceId,
                        trace.size(),
                        trace.stream().map(s -> s.service() + "/" + s.name()).toList());
            }

            TestClients.send(
                    broker.bootstrapServers(),
                    List.of(PipelineRequests.inlineVideo(
                            topics, "traced-video", models.getParent().resolve("samples/video.mp4"), 50)));
            ReceivedSpan plan = awaitSpan(
                    collector, s -> s.service().equals("preprocess") && s.name().equals("plan video"));
            assertEquals("", plan.parentSpanId(), "the video started its trace");
            List<ReceivedSpan> video = awaitSpans(
                    collector,
                    plan.traceId(),
                    spans -> spans.stream().anyMatch(s -> s.service().equals("scoring")));
            List<String> segments = video.stream()
                    .filter(s -> s.name().equals("decode video segment"))
                    .peek(s -> assertEquals(plan.spanId(), s.parentSpanId(), "segments follow the plan"))
                    .map(ReceivedSpan::spanId)
                    .toList();
            assertFalse(segments.isEmpty(), "segment spans: " + video);
            assertTrue(
                    video.stream().anyMatch(s -> s.name().equals("score") && segments.contains(s.parentSpanId())),
                    "frames are scored in their segment's trace: " + video);
            System.out.printf("[tracing IT] video trace %s: %d spans%n", plan.traceId(), video.size());

            ManagedChannel channel = ManagedChannelBuilder.forAddress("localhost", services.captioningGrpcPort())
                    .usePlaintext()
                    .build();
            try {
                VisionServiceGrpc.newBlockingStub(channel)
                        .withDeadlineAfter(60, TimeUnit.SECONDS)
                        .caption(CaptionRequest.newBuilder()
                                .setRequestId("traced-rpc")
                                .setImage(ByteString.copyFrom(Files.readAllBytes(image)))
                                .build());
            } finally {
                channel.shutdownNow();
            }
            ReceivedSpan search = awaitSpan(
                    collector,
                    s -> s.service().equals("captioning")
                            && s.name().equals("decode search")
                            && !s.parentSpanId().isEmpty());
            List<ReceivedSpan> rpc = awaitSpans(
                    collector,
                    search.traceId(),
                    spans -> spans.stream().anyMatch(s -> s.service().equals("scoring")));
            ReceivedSpan server = rpc.stream()
                    .filter(s ->
                            s.service().equals("captioning") && s.parentSpanId().isEmpty())
                    .findFirst()
                    .orElseThrow(() -> new AssertionError("no root span of the Caption call: " + rpc));
            assertTrue(server.name().contains("Caption"), server.toString());
            ReceivedSpan infer = rpc.stream()
                    .filter(s -> s.service().equals("scoring") && s.name().contains("ModelInfer"))
                    .findFirst()
                    .orElseThrow(() -> new AssertionError("no ModelInfer span of scoring: " + rpc));
            assertFalse(infer.parentSpanId().isEmpty(), "scoring's span has captioning's client span as parent");
            assertTrue(
                    rpc.stream()
                            .anyMatch(s -> s.spanId().equals(infer.parentSpanId())
                                    && s.service().equals("captioning")),
                    "the parent of scoring's span is captioning's: " + rpc);
            System.out.printf(
                    "[tracing IT] Caption call trace %s: %s%n",
                    search.traceId(),
                    rpc.stream().map(s -> s.service() + "/" + s.name()).toList());
        }
    }

    private static Optional<ReceivedSpan> find(List<ReceivedSpan> spans, String service, String name) {
        return spans.stream()
                .filter(s -> s.service().equals(service) && s.name().equals(name))
                .findFirst();
    }

    private static void assertChild(List<ReceivedSpan> trace, String service, String name, ReceivedSpan parent) {
        assertTrue(
                trace.stream()
                        .anyMatch(s -> s.service().equals(service)
                                && s.name().equals(name)
                                && s.parentSpanId().equals(parent.spanId())),
                name + " is a child of " + parent.name() + ": " + trace);
    }

    private static List<ReceivedSpan> awaitSpans(
            OtlpReceiver collector, String traceId, Predicate<List<ReceivedSpan>> complete) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            List<ReceivedSpan> trace = collector.trace(traceId);
            if (complete.test(trace)) {
                Thread.sleep(1000); // the last exports of the other services
                return collector.trace(traceId);
            }
            Thread.sleep(200);
        }
        throw new AssertionError("trace " + traceId + " incomplete after 60 s: " + collector.trace(traceId));
    }

    private static ReceivedSpan awaitSpan(OtlpReceiver collector, Predicate<ReceivedSpan> wanted) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            Optional<ReceivedSpan> found =
                    collector.spans().stream().filter(wanted).findFirst();
            if (found.isPresent()) {
                return found.get();
            }
            Thread.sleep(200);
        }
        throw new AssertionError("no such span after 60 s: " + collector.spans());
    }
}
