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
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
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

    @Inject
    KafkaActivity activity;

    @Inject
    ServiceProbes probes;

    private volatile KafkaProducer<byte[], byte[]> producer;

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
            rates = activity.writeRates();
        } catch (Exception e) {
            rates = Map.of();
            out.put("rates_error", String.valueOf(e.getMessage()));
        }
        for (String entry : config.console().services()) {
            int eq = entry.indexOf('=');
            String name = eq < 0 ? entry : entry.substring(0, eq);
            ObjectNode s = services.addObject().put("name", name);
            ServiceProbes.Answer answer = probes.get(entry.substring(eq + 1));
            s.put("ready", answer.ok()).put("detail", answer.detail());
            if (answer.status() == 0) {
                continue;
            }
            Double rate = rates.get(name);
            if (rate != null) {
                s.put("records_out_per_s", Math.round(rate * 10) / 10.0);
            }
        }
        ArrayNode lag = out.putArray("lag");
        try {
            for (KafkaActivity.Lag l : activity.lag(config.console().lagGroups())) {
                lag.addObject().put("group", l.group()).put("topic", l.topic()).put("lag", l.records());
            }
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
        ServiceProbes.Answer answer = probes.get(url);
        if (answer.ok()) {
            return answer.body();
        }
        return MAPPER.writeValueAsString(MAPPER.createObjectNode()
                .put("error", url + (answer.status() == 0 ? " " : " answered ") + answer.detail()));
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

    void close(@Observes ShutdownEvent event) {
        if (producer != null) {
            producer.close(Duration.ofSeconds(5));
        }
    }
}
