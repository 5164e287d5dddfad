package io.streamvision.scoring.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamvision.model.ModelConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The scoring loop's poll follows the served models' batching unless a size is configured. */
class PollSizeTest {

    @Test
    void aSmallModelGetsEightFullBatchesPerPollAndFetchesLargeEnoughForThem() throws Exception {
        PollSize poll = PollSize.of(0, List.of(model(64, 1, 28, 28)));
        assertEquals(512, poll.records());
        int partition = (int) poll.fetch().get("max.partition.fetch.bytes");
        assertTrue(partition >= 512 * 28 * 28 * 4, "one partition can fill the poll: " + partition);
        assertTrue((int) poll.fetch().get("fetch.max.bytes") >= partition);
    }

    @Test
    void aLargeModelsPollIsCutTo32MibOfInput() throws Exception {
        // 3 x 224 x 224 FP32 is 602,112 bytes a row: 55 rows fit in 32 MiB, not 8 x 32.
        PollSize poll = PollSize.of(0, List.of(model(32, 3, 224, 224)));
        assertEquals(55, poll.records());
    }

    @Test
    void aSmallModelBesideALargeOneKeepsItsFullBatchesAndTheFetchBoundsTheBytes() throws Exception {
        PollSize poll = PollSize.of(0, List.of(model(4, 3, 512, 512), model(64, 1, 28, 28)));
        assertEquals(512, poll.records(), "the detector beside it does not cut fashion-cnn's polls");
        assertEquals(PollSize.MAX_POLL_BYTES, ((Number) poll.fetch().get("fetch.max.bytes")).longValue());
        assertTrue((int) poll.fetch().get("max.partition.fetch.bytes") <= PollSize.MAX_POLL_BYTES);
    }

    @Test
    void aConfiguredSizeWins() throws Exception {
        assertEquals(100, PollSize.of(100, List.of(model(64, 1, 28, 28))).records());
    }

    private static ModelConfig model(int maxBatch, int channels, int height, int width) throws Exception {
        return ModelConfig.JSON.readValue("""
                {"name": "m", "version": 1, "platform": "onnxruntime_onnx",
                 "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, %d, %d, %d]}],
                 "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 10]}],
                 "batching": {"max_batch_size": %d, "max_queue_delay_us": 0, "max_queue_size": 1024}}
                """.formatted(channels, height, width, maxBatch), ModelConfig.class);
    }
}
