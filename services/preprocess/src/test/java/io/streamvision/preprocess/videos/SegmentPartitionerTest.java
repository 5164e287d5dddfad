package io.streamvision.preprocess.videos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.Test;

/** Where the video loops' records go. */
class SegmentPartitionerTest {

    private static final String SEGMENTS = "vision.video-segments.v1";
    private static final String TENSORS = "vision.tensors.fashion-cnn.v1";

    @Test
    void aVideosSegmentsFillEveryPartitionEquallyWhatever() {
        SegmentPartitioner partitioner = partitioner();
        for (int partitions : new int[] {1, 2, 3, 4, 5, 6, 12, 24, 25}) {
            Cluster cluster = cluster(partitions);
            for (String video : List.of("hour-1", "3f2c9a1e-77a0-4e55-a1c1-0f0e6b5b2d11", "a/b/c")) {
                int segments = 120;
                int[] counts = new int[partitions];
                for (int i = 0; i < segments; i++) {
                    counts[partition(partitioner, SEGMENTS, video + "/" + i, cluster)]++;
                }
                for (int count : counts) {
                    assertTrue(
                            count == segments / partitions || count == segments / partitions + 1,
                            partitions + " partitions, " + video + ": " + Arrays.toString(counts));
                }
            }
        }
    }

    @Test
    void consecutiveSegmentsAlternateBetweenTheHalvesRangeAssignmentGivesTwoMembers() {
        SegmentPartitioner partitioner = partitioner();
        Cluster cluster = cluster(12);
        for (String video : List.of("hour-1", "short-2", "x")) {
            List<Integer> halves = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                halves.add(partition(partitioner, SEGMENTS, video + "/" + i, cluster) / 6);
            }
            // Any two consecutive segments: at most two in a row in the same half.
            for (int i = 2; i < halves.size(); i++) {
                assertTrue(
                        !(halves.get(i).equals(halves.get(i - 1))
                                && halves.get(i).equals(halves.get(i - 2))),
                        video + ": " + halves);
            }
            // A short video of four segments lands on both halves.
            assertTrue(halves.subList(0, 4).contains(0) && halves.subList(0, 4).contains(1), video + ": " + halves);
        }
    }

    @Test
    void otherRecordsGoWhereKafkasOwnPartitionerPutsThem() {
        SegmentPartitioner partitioner = partitioner();
        Cluster cluster = cluster(12);
        for (String key : List.of("hour-1", "hour-1/3", "image-7")) {
            int expected = Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % 12;
            assertEquals(expected, partition(partitioner, TENSORS, key, cluster), key);
        }
        // A segment-topic key that is not <id>/<index> is hashed as a whole.
        String odd = "no-index/x1";
        assertEquals(
                Utils.toPositive(Utils.murmur2(odd.getBytes(StandardCharsets.UTF_8))) % 12,
                partition(partitioner, SEGMENTS, odd, cluster));
        // Same key, same partition: a retried transaction writes the segment where the first try did.
        assertEquals(
                partition(partitioner, SEGMENTS, "hour-1/77", cluster),
                partition(partitioner(), SEGMENTS, "hour-1/77", cluster));
    }

    private static SegmentPartitioner partitioner() {
        SegmentPartitioner partitioner = new SegmentPartitioner();
        partitioner.configure(Map.of(SegmentPartitioner.SEGMENTS_TOPIC, SEGMENTS));
        return partitioner;
    }

    private static int partition(SegmentPartitioner partitioner, String topic, String key, Cluster cluster) {
        byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
        return partitioner.partition(topic, bytes, bytes, null, null, cluster);
    }

    private static Cluster cluster(int partitions) {
        Node node = new Node(0, "localhost", 9092);
        List<PartitionInfo> infos = new ArrayList<>();
        for (String topic : List.of(SEGMENTS, TENSORS)) {
            for (int p = 0; p < partitions; p++) {
                infos.add(new PartitionInfo(topic, p, node, new Node[] {node}, new Node[] {node}));
            }
        }
        return new Cluster("test", List.of(node), infos, Set.of(), Set.of());
    }
}
