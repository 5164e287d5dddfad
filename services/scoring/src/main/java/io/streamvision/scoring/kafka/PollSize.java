package io.streamvision.scoring.kafka;

import io.streamvision.model.ModelConfig;
import io.streamvision.runtime.Datatypes;
import java.util.Collection;
import java.util.Map;

/**
 * How many tensor records one poll (one transaction) of the scoring loop takes, and the fetch
 * sizes that let one poll fill. A transaction's fixed cost dominates for small records, so for a
 * small model the Kafka path is bound by commits unless a poll holds several full batches; for a
 * large one a poll must stay small enough to score within the transaction timeout. Sized once,
 * from the models served at start.
 *
 * <p>Unless {@code vision.scoring.kafka.max-poll-records} is set above 0: {@value #BATCHES_PER_POLL}
 * times the largest {@code max_batch_size} of the served models, cut so that a poll of the
 * smallest model's rows holds at most {@value #MAX_POLL_BYTES} bytes. The bytes of one poll are
 * bounded by the fetch sizes instead of the count: a consumer buffers about one fetch per broker, at
 * most {@code fetch.max.bytes} ({@value #MAX_POLL_BYTES}), so a poll of a large model's tensors
 * holds as many as fit in that (ten 3x512x512 images), while a small model beside it keeps its
 * full batches. (Sized from the largest row instead, a detector served beside fashion-cnn cut every
 * poll to 10 records, and fashion-cnn's Kafka path to about 230 records/s.)
 *
 * @param records {@code max.poll.records}
 * @param fetch {@code max.partition.fetch.bytes} and {@code fetch.max.bytes}, large enough for
 *     one partition to fill a poll
 */
record PollSize(int records, Map<String, Object> fetch) {

    static final int BATCHES_PER_POLL = 8;
    static final long MAX_POLL_BYTES = 32L << 20;
    private static final long DEFAULT_PARTITION_FETCH = 1L << 20;

    static PollSize of(int configured, Collection<ModelConfig> models) {
        int maxBatch = 1;
        long rowBytes = Long.MAX_VALUE;
        for (ModelConfig model : models) {
            maxBatch = Math.max(maxBatch, model.batching().maxBatchSize());
            long modelRow = 0;
            for (ModelConfig.TensorSpec input : model.inputs()) {
                modelRow += rowBytes(input);
            }
            rowBytes = Math.min(rowBytes, Math.max(1, modelRow));
        }
        if (rowBytes == Long.MAX_VALUE) {
            rowBytes = 1;
        }
        int records = configured > 0
                ? configured
                : (int) Math.max(1, Math.min((long) BATCHES_PER_POLL * maxBatch, MAX_POLL_BYTES / rowBytes));
        // Room for one poll from one partition, plus the record framing; a record larger than the
        // limit still comes, alone.
        long partition = Math.max(DEFAULT_PARTITION_FETCH, Math.min(MAX_POLL_BYTES, records * (rowBytes + 512)));
        return new PollSize(
                records,
                Map.of(
                        "max.partition.fetch.bytes", (int) partition,
                        "fetch.max.bytes", (int) Math.max(partition, MAX_POLL_BYTES)));
    }

    /** Bytes of one row of an input as sent: its fixed dimensions (1 for a variable one) in FP32. */
    static long rowBytes(ModelConfig.TensorSpec input) {
        long elements = 1;
        long[] shape = input.shape();
        for (int d = 1; d < shape.length; d++) {
            elements *= Math.max(1, shape[d]);
        }
        return elements * Math.max(4, Datatypes.size(input.datatype()));
    }
}
