package io.streamvision.scoring.rollout;

import io.streamvision.kafka.KafkaClients;
import io.streamvision.proto.vision.v1.ModelEvent;
import io.streamvision.proto.vision.v1.RolloutFigures;
import io.streamvision.rollout.Rollouts;
import io.streamvision.rollout.VersionComparison;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.jboss.logging.Logger;

/**
 * The rollouts' events on {@code vision.model-events.v1} ({@code vision.v1.ModelEvent}, keyed by
 * model): written as they happen (idempotent producer, every replica), and read back from the start
 * when the service starts, so a step, a promotion or a rollback survives a restart and reaches the
 * other instances when they start. A broker that cannot be reached at start costs at most {@link
 * #READ_TIMEOUT} and leaves every rollout at its first step. Thread-safe.
 */
public final class RolloutEventLog implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(RolloutEventLog.class);

    static final Duration READ_TIMEOUT = Duration.ofSeconds(10);

    private final KafkaClients kafka;
    private final String topic;
    private final String instance;
    private volatile KafkaProducer<String, byte[]> producer;
    private volatile boolean closed;

    public RolloutEventLog(KafkaClients kafka) {
        this.kafka = kafka;
        this.topic = kafka.topics().modelEvents().name();
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "unknown";
        }
        this.instance = host + "/" + ProcessHandle.current().pid();
    }

    /** Creates the topic when topic creation is on, then gives every event on it to {@code rollouts}. */
    public void restoreInto(Rollouts rollouts) {
        try {
            kafka.ensureTopics(List.of(topic), 1);
        } catch (RuntimeException e) {
            LOG.warnf("Cannot create %s (%s); rollout events are written when it exists", topic, e.getMessage());
        }
        Properties props = kafka.clientProperties();
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) READ_TIMEOUT.toMillis());
        int read = 0;
        long deadline = System.nanoTime() + READ_TIMEOUT.toNanos();
        KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(props);
        try {
            List<PartitionInfo> partitions = consumer.partitionsFor(topic, READ_TIMEOUT);
            if (partitions == null || partitions.isEmpty()) {
                consumer.close();
                return;
            }
            List<TopicPartition> assigned = partitions.stream()
                    .map(p -> new TopicPartition(topic, p.partition()))
                    .toList();
            consumer.assign(assigned);
            consumer.seekToBeginning(assigned);
            Map<TopicPartition, Long> end = consumer.endOffsets(assigned, READ_TIMEOUT);
            while (assigned.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))
                    && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    try {
                        rollouts.restore(fromProto(ModelEvent.parseFrom(record.value())));
                        read++;
                    } catch (com.google.protobuf.InvalidProtocolBufferException | RuntimeException e) {
                        LOG.warnf("Skipping an unreadable event on %s at offset %d", topic, record.offset());
                    }
                }
            }
        } catch (RuntimeException e) {
            LOG.warnf("Cannot read %s (%s); every rollout starts at its first step", topic, e.getMessage());
            consumer.close();
            return;
        }
        if (read > 0) {
            LOG.infof("Read %d rollout event(s) from %s", read, topic);
        }
        Thread follower = new Thread(() -> follow(consumer, rollouts), "rollout-events");
        follower.setDaemon(true);
        follower.start();
    }

    /**
     * Goes on reading the topic: what another instance decided (a step, a promotion, a rollback)
     * is taken here too, so the instances of a deployment converge on one state.
     */
    private void follow(KafkaConsumer<String, byte[]> consumer, Rollouts rollouts) {
        try (consumer) {
            while (!closed) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    try {
                        ModelEvent event = ModelEvent.parseFrom(record.value());
                        if (!event.getInstance().equals(instance)) {
                            rollouts.follow(fromProto(event));
                        }
                    } catch (com.google.protobuf.InvalidProtocolBufferException | RuntimeException e) {
                        LOG.warnf("Skipping an unreadable event on %s at offset %d", topic, record.offset());
                    }
                }
            }
        } catch (org.apache.kafka.common.errors.InterruptException | org.apache.kafka.common.errors.WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            LOG.warnf("Stopped following %s: %s", topic, e.getMessage());
        }
    }

    /** Writes one event (asynchronously; a failure is logged, the rollout goes on). */
    public void publish(Rollouts.Event event) {
        ModelEvent record = toProto(event, instance);
        try {
            producer().send(new ProducerRecord<>(topic, event.model(), record.toByteArray()), (meta, error) -> {
                if (error != null) {
                    LOG.warnf("Rollout event for %s not written to %s: %s", event.model(), topic, error.getMessage());
                }
            });
        } catch (RuntimeException e) {
            LOG.warnf("Rollout event for %s not written to %s: %s", event.model(), topic, e.getMessage());
        }
    }

    private KafkaProducer<String, byte[]> producer() {
        KafkaProducer<String, byte[]> p = producer;
        if (p == null) {
            synchronized (this) {
                if (producer == null) {
                    Properties props = kafka.clientProperties();
                    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
                    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
                    props.put(ProducerConfig.ACKS_CONFIG, "all");
                    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
                    producer = new KafkaProducer<>(props);
                }
                p = producer;
            }
        }
        return p;
    }

    static ModelEvent toProto(Rollouts.Event e, String instance) {
        ModelEvent.Builder out = ModelEvent.newBuilder()
                .setModel(e.model())
                .setType(e.type())
                .setStatus(e.status().name())
                .setStep(e.step())
                .setServingVersion(e.serving())
                .setCandidateVersion(e.candidate() == null ? 0 : e.candidate())
                .setPercent(e.percent())
                .setReason(e.reason() == null ? "" : e.reason())
                .setSettingsDigest(e.digest() == null ? "" : e.digest())
                .setAtMs(e.atMillis())
                .setInstance(instance);
        VersionComparison.Snapshot s = e.figures();
        if (s != null) {
            out.setFigures(RolloutFigures.newBuilder()
                    .setPairs(s.pairs())
                    .setClassifiedRows(s.classifiedRows())
                    .setTop1Agreement(s.top1Agreement())
                    .setTop5Overlap(s.top5Overlap())
                    .setMeanAbsDiff(s.meanAbsDiff())
                    .setMaxAbsDiff(s.maxAbsDiff())
                    .setServingRequests(s.servingRequests())
                    .setServingErrors(s.servingErrors())
                    .setCandidateRequests(s.candidateRequests())
                    .setCandidateErrors(s.candidateErrors())
                    .setServingP99Ms(s.servingP99Ms())
                    .setCandidateP99Ms(s.candidateP99Ms())
                    .setShadowSkipped(s.shadowSkipped())
                    .setDetectedImages(s.detectedImages())
                    .setDetectionAgreement(s.detectionAgreement())
                    .setMatchedIou(s.matchedIou()));
        }
        return out.build();
    }

    static Rollouts.Event fromProto(ModelEvent e) {
        return new Rollouts.Event(
                e.getModel(),
                e.getType(),
                e.getSettingsDigest(),
                Rollouts.Status.valueOf(e.getStatus()),
                e.getStep(),
                e.getServingVersion(),
                e.getCandidateVersion() == 0 ? null : e.getCandidateVersion(),
                e.getPercent(),
                e.getReason(),
                null,
                e.getAtMs());
    }

    @Override
    public void close() {
        closed = true;
        KafkaProducer<String, byte[]> p = producer;
        if (p != null) {
            p.close(Duration.ofSeconds(5));
        }
    }
}
