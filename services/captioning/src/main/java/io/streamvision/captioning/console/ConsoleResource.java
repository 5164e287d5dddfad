package io.streamvision.captioning.console;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import io.quarkus.runtime.ShutdownEvent;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Multi;
import io.streamvision.captioning.CaptioningConfig;
import io.streamvision.kafka.KafkaClients;
import io.streamvision.kafka.RecordHeaders;
import io.streamvision.kafka.Topics;
import io.streamvision.model.ModelRepository;
import io.streamvision.proto.vision.v1.ImageRequest;
import io.streamvision.proto.vision.v1.VideoRequest;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.jboss.resteasy.reactive.RestStreamElementType;

/**
 * The web console's API: {@code GET /console/events} (server-sent events: the recent events, then
 * each new one), {@code GET /console/status} (readiness of each service, consumer lag per group
 * and topic, records each service writes per second, results and dead letters in the last minute) and {@code POST /console/upload} (an
 * image or a video into the pipeline through Kafka). The page itself is {@code /}.
 */
@Path("/console")
@Singleton
public class ConsoleResource {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final List<String> VIDEO_EXTENSIONS = List.of(".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v");

    @Inject
    ConsoleFeed feed;

    @Inject
    CaptioningConfig config;

    @Inject
    KafkaClients kafka;

    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private volatile KafkaProducer<byte[], byte[]> producer;
    private volatile Admin admin;
    /** Per service: end offsets of its topics and when ({@link System#nanoTime}), at the last status. */
    private final Map<String, double[]> lastEnds = new ConcurrentHashMap<>();

    @GET
    @Path("/events")
    @Produces(MediaType.SERVER_SENT_EVENTS)
    @RestStreamElementType(MediaType.TEXT_PLAIN)
    public Multi<String> events() {
        enabled();
        return Multi.createBy()
                .concatenating()
                .streams(
                        Multi.createFrom().iterable(feed.recent()),
                        feed.live().onOverflow().drop());
    }

    @GET
    @Path("/status")
    @Produces(MediaType.APPLICATION_JSON)
    @Blocking
    public String status() throws Exception {
        enabled();
        ObjectNode out = MAPPER.createObjectNode();
        ArrayNode services = out.putArray("services");
        Map<String, Double> rates;
        try {
            rates = writeRates();
        } catch (Exception e) {
            rates = Map.of();
            out.put("rates_error", String.valueOf(e.getMessage()));
        }
        for (String entry : config.console().services()) {
            int eq = entry.indexOf('=');
            String name = eq < 0 ? entry : entry.substring(0, eq);
            ObjectNode s = services.addObject().put("name", name);
            try {
                HttpResponse<String> r = http.send(
                        HttpRequest.newBuilder(URI.create(entry.substring(eq + 1)))
                                .timeout(Duration.ofSeconds(2))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                s.put("ready", r.statusCode() == 200).put("detail", "HTTP " + r.statusCode());
            } catch (Exception e) {
                s.put("ready", false)
                        .put("detail", "unreachable: " + e.getClass().getSimpleName());
                continue;
            }
            Double rate = rates.get(name);
            if (rate != null) {
                s.put("records_out_per_s", Math.round(rate * 10) / 10.0);
            }
        }
        ArrayNode lag = out.putArray("lag");
        try {
            lag(lag);
        } catch (Exception e) {
            out.put("lag_error", String.valueOf(e.getMessage()));
        }
        Map<String, Integer> minute = feed.lastMinute();
        out.putObject("last_minute")
                .put("results", minute.get("results"))
                .put("dead_letters", minute.get("dead_letters"));
        return MAPPER.writeValueAsString(out);
    }

    /**
     * Records each service writes per second, from the growth of the end offsets of the topics it
     * writes ({@link Topics#writer}) since the last status request (transaction markers included,
     * so slightly high for small transactions). Empty on the first request.
     */
    private Map<String, Double> writeRates() throws Exception {
        Topics topics = kafka.topics();
        Admin a = admin();
        Map<String, String> writer = new HashMap<>();
        for (String name : a.listTopics().names().get(5, TimeUnit.SECONDS)) {
            topics.writer(name).ifPresent(service -> writer.put(name, service));
        }
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        a.describeTopics(writer.keySet())
                .allTopicNames()
                .get(5, TimeUnit.SECONDS)
                .forEach((name, d) -> d.partitions()
                        .forEach(p -> latest.put(new TopicPartition(name, p.partition()), OffsetSpec.latest())));
        Map<String, Double> ends = new HashMap<>();
        a.listOffsets(latest)
                .all()
                .get(5, TimeUnit.SECONDS)
                .forEach((tp, info) -> ends.merge(writer.get(tp.topic()), (double) info.offset(), Double::sum));
        long now = System.nanoTime();
        Map<String, Double> rates = new HashMap<>();
        ends.forEach((service, end) -> {
            double[] last = lastEnds.put(service, new double[] {end, now});
            if (last != null && now > last[1]) {
                rates.put(service, Math.max(0, end - last[0]) / ((now - last[1]) / 1e9));
            }
        });
        return rates;
    }

    /** Sum over partitions of end offset minus committed offset, per group and topic. */
    private void lag(ArrayNode out) throws Exception {
        Admin a = admin();
        for (String group : config.console().lagGroups()) {
            Map<TopicPartition, OffsetAndMetadata> committed = a.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata()
                    .get(5, TimeUnit.SECONDS);
            if (committed.isEmpty()) {
                continue;
            }
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            committed.keySet().forEach(tp -> latest.put(tp, OffsetSpec.latest()));
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends =
                    a.listOffsets(latest).all().get(5, TimeUnit.SECONDS);
            Map<String, Long> byTopic = new HashMap<>();
            committed.forEach((tp, offset) -> {
                if (offset != null && ends.containsKey(tp)) {
                    long behind = ends.get(tp).offset() - offset.offset();
                    // Topics written in transactions end with a commit marker after the last
                    // record, which consumers never commit past: a lag of 1 is that marker.
                    byTopic.merge(tp.topic(), behind <= 1 ? 0 : behind, Long::sum);
                }
            });
            byTopic.forEach((topic, n) ->
                    out.addObject().put("group", group).put("topic", topic).put("lag", n));
        }
    }

    /**
     * The scoring service's rollouts ({@code GET /v2/rollouts}), for the read-only rollouts panel;
     * {@code {"error": ...}} when scoring cannot be asked (down, or its API needs a token).
     */
    @GET
    @Path("/rollouts")
    @Produces(MediaType.APPLICATION_JSON)
    @Blocking
    public String rollouts() throws Exception {
        enabled();
        String url = config.console().scoringUrl().replaceAll("/+$", "") + "/v2/rollouts";
        try {
            HttpResponse<String> r = http.send(
                    HttpRequest.newBuilder(URI.create(url))
                            .timeout(Duration.ofSeconds(2))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 200) {
                return r.body();
            }
            return MAPPER.writeValueAsString(
                    MAPPER.createObjectNode().put("error", url + " answered HTTP " + r.statusCode()));
        } catch (Exception e) {
            return MAPPER.writeValueAsString(MAPPER.createObjectNode()
                    .put("error", url + " unreachable: " + e.getClass().getSimpleName()));
        }
    }

    /**
     * The image models of the repository, for the upload box: name, task and whether it is ticked at
     * first ({@code vision.captioning.console.image-models}).
     */
    @GET
    @Path("/models")
    @Produces(MediaType.APPLICATION_JSON)
    @Blocking
    public String models() throws Exception {
        enabled();
        ArrayNode out = MAPPER.createArrayNode();
        List<String> ticked = config.console().imageModels();
        new ModelRepository(java.nio.file.Path.of(config.modelsDir()))
                .latestConfigs()
                .forEach((name, model) -> {
                    if (model.imageInput() != null) {
                        out.addObject()
                                .put("name", name)
                                .put("task", model.task())
                                .put("ticked", ticked.contains(name));
                    }
                });
        return MAPPER.writeValueAsString(out);
    }

    @POST
    @Path("/upload")
    @Produces(MediaType.APPLICATION_JSON)
    @Blocking
    public Response upload(
            @QueryParam("name") String name,
            @QueryParam("models") String models,
            @HeaderParam("Content-Type") String contentType,
            byte[] body)
            throws Exception {
        enabled();
        if (body == null || body.length == 0) {
            return Response.status(400)
                    .entity("{\"error\":\"the upload is empty\"}")
                    .build();
        }
        String file = name == null || name.isBlank() ? "upload" : name;
        String stem = file.replaceAll("\\.[^.]*$", "").replaceAll("[^A-Za-z0-9_-]", "_");
        String id = "console-" + stem + "-" + UUID.randomUUID().toString().substring(0, 8);
        String lower = file.toLowerCase(Locale.ROOT);
        boolean video = (contentType != null && contentType.startsWith("video/"))
                || VIDEO_EXTENSIONS.stream().anyMatch(lower::endsWith);
        List<String> chosen = models == null || models.isBlank()
                ? List.of()
                : Arrays.stream(models.split(","))
                        .map(String::trim)
                        .filter(m -> !m.isEmpty())
                        .toList();
        Topics topics = kafka.topics();
        String topic = video ? topics.videos().name() : topics.images().name();
        byte[] request = video
                ? VideoRequest.newBuilder()
                        .setVideoId(id)
                        .setVideo(ByteString.copyFrom(body))
                        .setEveryNFrames(config.console().videoEveryNFrames())
                        .addAllModels(chosen.stream()
                                .filter(m -> !config.results().captionEncoders().contains(m))
                                .toList())
                        .build()
                        .toByteArray()
                : ImageRequest.newBuilder()
                        .setRequestId(id)
                        .setImage(ByteString.copyFrom(body))
                        .setContentType(contentType == null ? "" : contentType)
                        .setSourceUri("console:" + file)
                        .addAllModels(chosen)
                        .build()
                        .toByteArray();
        ProducerRecord<byte[], byte[]> record =
                new ProducerRecord<>(topic, id.getBytes(StandardCharsets.UTF_8), request);
        RecordHeaders.put(record.headers(), RecordHeaders.REQUEST_ID, id);
        producer().send(record).get(30, TimeUnit.SECONDS);
        ObjectNode out = MAPPER.createObjectNode()
                .put("id", id)
                .put("kind", video ? "video" : "image")
                .put("topic", record.topic())
                .put("bytes", body.length);
        return Response.ok(MAPPER.writeValueAsString(out)).build();
    }

    private void enabled() {
        if (!config.console().enabled()) {
            throw new NotFoundException("the console is disabled (vision.captioning.console.enabled=false)");
        }
    }

    private synchronized KafkaProducer<byte[], byte[]> producer() {
        if (producer == null) {
            Properties props = kafka.clientProperties();
            props.put(ProducerConfig.ACKS_CONFIG, "all");
            props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 16 * 1024 * 1024);
            props.put(ProducerConfig.CLIENT_ID_CONFIG, "vision-console-upload");
            producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
        }
        return producer;
    }

    private synchronized Admin admin() {
        if (admin == null) {
            Properties props = kafka.clientProperties();
            admin = Admin.create(props);
        }
        return admin;
    }

    void close(@Observes ShutdownEvent event) {
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
        }
        if (admin != null) {
            admin.close(Duration.ofSeconds(5));
        }
    }
}
