package io.streamvision.captioning.console;

import io.quarkus.runtime.ShutdownEvent;
import io.streamvision.kafka.KafkaClients;
import io.streamvision.kafka.Topics;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * What the console shows of the pipeline's Kafka side, read with an admin client: records each
 * service writes per second and how far each consumer group is behind. Thread-safe.
 */
@Singleton
public class KafkaActivity {

    /** Records a group has yet to read from one topic, summed over its partitions. */
    public record Lag(String group, String topic, long records) {}

    @Inject
    KafkaClients kafka;

    private volatile Admin admin;

    /** Per service: end offsets of its topics and when ({@link System#nanoTime}), at the last call. */
    private final Map<String, double[]> lastEnds = new ConcurrentHashMap<>();

    /**
     * Records each service writes per second, from the growth of the end offsets of the topics it
     * writes ({@link Topics#writer}) since the last call (transaction markers included, so slightly
     * high for small transactions). Empty on the first call.
     */
    public Map<String, Double> writeRates() throws Exception {
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

    /** End offset minus committed offset, summed over partitions, per group and topic. */
    public List<Lag> lag(List<String> groups) throws Exception {
        Admin a = admin();
        List<Lag> out = new ArrayList<>();
        for (String group : groups) {
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
            byTopic.forEach((topic, n) -> out.add(new Lag(group, topic, n)));
        }
        return out;
    }

    private synchronized Admin admin() {
        if (admin == null) {
            Properties props = kafka.clientProperties();
            admin = Admin.create(props);
        }
        return admin;
    }

    void close(@Observes ShutdownEvent event) {
        if (admin != null) {
            admin.close(Duration.ofSeconds(5));
        }
    }
}
