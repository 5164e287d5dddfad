package io.streamvision.captioning.console;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.operators.multi.processors.BroadcastProcessor;
import io.streamvision.captioning.CaptioningConfig;
import io.streamvision.kafka.KafkaClients;
import io.streamvision.kafka.Topic;
import io.streamvision.kafka.Topics;
import io.streamvision.proto.vision.v1.DeadLetter;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.jboss.logging.Logger;

/**
 * What the web console shows as it happens: every result, dead letter and video summary committed
 * to Kafka, as one JSON event each ({@code {"type": "result"|"dead-letter"|"video", "ts": record
 * timestamp, "data": the message in protobuf's JSON mapping}}; a dead letter without its payload
 * and headers). Reads the three topics from their ends with a consumer of its own, outside any
 * group (every instance sees everything, and commits nothing), starting a few records back so a
 * new page has something to show. Keeps the last {@code vision.captioning.console.recent} events
 * for pages that open later. A result or summary becomes JSON only when a page watches or opens:
 * at hundreds of results a second with no page open, printing each one cost a few percent of the
 * service's CPU. Dead letters are stripped of their payload (up to 16 MB) as they arrive.
 */
@ApplicationScoped
public class ConsoleFeed {

    private static final Logger LOG = Logger.getLogger(ConsoleFeed.class);
    private static final JsonFormat.Printer JSON =
            JsonFormat.printer().omittingInsignificantWhitespace().preservingProtoFieldNames();
    /** Records read back per partition at start, for the page's first view. */
    private static final long REPLAY_PER_PARTITION = 20;

    @Inject
    CaptioningConfig config;

    @Inject
    KafkaClients kafka;

    private final BroadcastProcessor<String> live = BroadcastProcessor.create();
    private final Deque<Seen> recent = new ArrayDeque<>();
    private final AtomicInteger watchers = new AtomicInteger();
    private final Deque<Long> resultTimes = new ArrayDeque<>();
    private final Deque<Long> deadLetterTimes = new ArrayDeque<>();
    private volatile boolean running;
    private KafkaConsumer<byte[], byte[]> consumer;
    private Thread thread;

    void onStart(@Observes StartupEvent event) {
        if (!config.console().enabled()) {
            return;
        }
        running = true;
        thread = new Thread(this::run, "console-feed");
        thread.setDaemon(true);
        thread.start();
    }

    void onStop(@Observes ShutdownEvent event) {
        running = false;
        KafkaConsumer<byte[], byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
    }

    /** Events from now on. */
    public Multi<String> live() {
        return live.onSubscription()
                .invoke(subscription -> watchers.incrementAndGet())
                .onTermination()
                .invoke(watchers::decrementAndGet);
    }

    /** The last events, oldest first. */
    public List<String> recent() {
        List<Seen> seen;
        synchronized (this) {
            seen = new ArrayList<>(recent);
        }
        List<String> out = new ArrayList<>(seen.size());
        for (Seen event : seen) {
            String json = event.json();
            if (json != null) {
                out.add(json);
            }
        }
        return out;
    }

    /** Results and dead letters seen in the last minute (by arrival here). */
    public synchronized Map<String, Integer> lastMinute() {
        long cutoff = System.currentTimeMillis() - 60_000;
        resultTimes.removeIf(t -> t < cutoff);
        deadLetterTimes.removeIf(t -> t < cutoff);
        return Map.of("results", resultTimes.size(), "dead_letters", deadLetterTimes.size());
    }

    /** A topic the feed reads and the event type of its records. */
    private record Watched(Topic<?> topic, String type) {}

    /**
     * A record as read, printed as its event when first asked: {@code json} when already printed
     * (dead letters, stripped at once), else the record's value; null JSON for a value that does not
     * parse.
     */
    private static final class Seen {
        private final Watched watched;
        private final long timestamp;
        private byte[] value;
        private String json;

        Seen(Watched watched, long timestamp, byte[] value) {
            this.watched = watched;
            this.timestamp = timestamp;
            this.value = value;
        }

        synchronized String json() {
            if (value != null) {
                json = event(watched, timestamp, value);
                value = null;
            }
            return json;
        }
    }

    private void run() {
        Topics topics = kafka.topics();
        Map<String, Watched> watched = Map.of(
                topics.results().name(), new Watched(topics.results(), "result"),
                topics.deadLetters().name(), new Watched(topics.deadLetters(), "dead-letter"),
                topics.videoSummaries().name(), new Watched(topics.videoSummaries(), "video"));
        Properties props = kafka.clientProperties();
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, "vision-console");
        try (KafkaConsumer<byte[], byte[]> c =
                new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer = c;
            List<TopicPartition> partitions = awaitPartitions(c, watched.keySet());
            if (partitions.isEmpty()) {
                return;
            }
            c.assign(partitions);
            Map<TopicPartition, Long> begin = c.beginningOffsets(partitions);
            c.endOffsets(partitions)
                    .forEach((tp, end) -> c.seek(tp, Math.max(begin.get(tp), end - REPLAY_PER_PARTITION)));
            while (running) {
                for (ConsumerRecord<byte[], byte[]> record : c.poll(Duration.ofMillis(500))) {
                    publish(record, watched.get(record.topic()));
                }
            }
        } catch (WakeupException stopping) {
            // shutdown
        } catch (RuntimeException e) {
            LOG.errorf(e, "console feed stopped");
        } finally {
            consumer = null;
        }
    }

    /** The partitions of the topics, once they all exist; empty when stopped first. */
    private List<TopicPartition> awaitPartitions(KafkaConsumer<byte[], byte[]> c, Iterable<String> names) {
        while (running) {
            List<TopicPartition> out = new ArrayList<>();
            boolean all = true;
            try {
                for (String name : names) {
                    List<PartitionInfo> info = c.partitionsFor(name, Duration.ofSeconds(10));
                    if (info == null || info.isEmpty()) {
                        all = false;
                        break;
                    }
                    info.forEach(p -> out.add(new TopicPartition(p.topic(), p.partition())));
                }
            } catch (WakeupException stopping) {
                throw stopping;
            } catch (KafkaException e) {
                // The broker is not reachable yet, or a topic is not readable: try again.
                LOG.debugf("console feed waits for its topics: %s", e.getMessage());
                all = false;
            }
            if (all) {
                return out;
            }
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return List.of();
            }
        }
        return List.of();
    }

    private void publish(ConsumerRecord<byte[], byte[]> record, Watched watched) {
        String type = watched.type();
        Seen seen = new Seen(watched, record.timestamp(), record.value());
        if (type.equals("dead-letter") && seen.json() == null) {
            return; // not ours to show; the services dead-letter what they cannot read
        }
        synchronized (this) {
            recent.addLast(seen);
            while (recent.size() > config.console().recent()) {
                recent.removeFirst();
            }
            if (type.equals("result")) {
                resultTimes.addLast(System.currentTimeMillis());
            } else if (type.equals("dead-letter")) {
                deadLetterTimes.addLast(System.currentTimeMillis());
            }
        }
        if (watchers.get() > 0) {
            String json = seen.json();
            if (json != null) {
                live.onNext(json);
            }
        }
    }

    /** A record's event, a dead letter without its payload and headers; null when it does not parse. */
    private static String event(Watched watched, long timestamp, byte[] value) {
        try {
            Message message = watched.topic().parse(value);
            if (message instanceof DeadLetter letter) {
                message = letter.toBuilder()
                        .clearOriginalPayload()
                        .clearOriginalHeaders()
                        .build();
            }
            return "{\"type\":\"" + watched.type() + "\",\"ts\":" + timestamp + ",\"data\":" + JSON.print(message)
                    + "}";
        } catch (InvalidProtocolBufferException e) {
            return null; // not ours to show; the services dead-letter what they cannot read
        }
    }
}
