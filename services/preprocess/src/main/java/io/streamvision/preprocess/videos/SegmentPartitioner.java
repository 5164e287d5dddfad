package io.streamvision.preprocess.videos;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.Partitioner;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.utils.Utils;

/**
 * The video loops' partitioner: spreads the segments of one video evenly over the partitions of
 * {@code vision.video-segments.v1}, and places every other record as Kafka's own partitioner does.
 *
 * <p>Hashing each segment's key ({@code <video id>/<index>}) put the 120 segments of an hour on the
 * 12 partitions unevenly (10 ± 3 each), so the loop that held more of them decoded its last
 * segments alone while the others idled. Here segment {@code i} goes to partition {@code (h + i ×
 * stride) mod n}, {@code h} the hash of the video id: every partition gets the same number of a
 * video's segments (±1), and, because the stride is about half the partitions and shares no factor
 * with their number, consecutive segments alternate between the halves (and thirds) of the
 * partition list, which range assignment gives to different members: a short video's few segments
 * spread too. A segment's partition depends only on its key and the partition count, so a retried
 * transaction writes it where the first try did.
 *
 * <p>Other records (frame tensors and events keyed by the video id, dead letters) go where Kafka's
 * built-in partitioner puts a keyed record: {@code murmur2(key) mod n}. Records without a key,
 * which the loops do not write, go round robin.
 */
public final class SegmentPartitioner implements Partitioner {

    /** The producer setting that names the segments topic. */
    public static final String SEGMENTS_TOPIC = "vision.video-segments.topic";

    private String segmentsTopic;
    private final AtomicInteger next = new AtomicInteger();

    @Override
    public void configure(Map<String, ?> configs) {
        Object topic = configs.get(SEGMENTS_TOPIC);
        segmentsTopic = topic == null ? null : topic.toString();
    }

    @Override
    public int partition(String topic, Object key, byte[] keyBytes, Object value, byte[] valueBytes, Cluster cluster) {
        int partitions = cluster.partitionCountForTopic(topic);
        if (keyBytes == null) {
            return Utils.toPositive(next.getAndIncrement()) % partitions;
        }
        if (topic.equals(segmentsTopic)) {
            String k = new String(keyBytes, StandardCharsets.UTF_8);
            int slash = k.lastIndexOf('/');
            long index = slash < 0 ? -1 : parseIndex(k, slash + 1);
            if (index >= 0) {
                return segmentPartition(k.substring(0, slash), index, partitions);
            }
        }
        return Utils.toPositive(Utils.murmur2(keyBytes)) % partitions;
    }

    /** The partition of a video's segment {@code index} among {@code partitions}. */
    static int segmentPartition(String videoId, long index, int partitions) {
        long first = Utils.toPositive(Utils.murmur2(videoId.getBytes(StandardCharsets.UTF_8))) % partitions;
        return (int) ((first + (index % partitions) * stride(partitions)) % partitions);
    }

    /** About half the partitions, sharing no factor with their number (1 for one or two). */
    static int stride(int partitions) {
        if (partitions <= 2) {
            return 1;
        }
        int stride = partitions / 2 + 1;
        while (gcd(stride, partitions) != 1) {
            stride++;
        }
        return stride % partitions;
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }

    private static long parseIndex(String key, int from) {
        if (from >= key.length() || key.length() - from > 18) {
            return -1;
        }
        long index = 0;
        for (int i = from; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            index = index * 10 + (c - '0');
        }
        return index;
    }

    @Override
    public void close() {}
}
