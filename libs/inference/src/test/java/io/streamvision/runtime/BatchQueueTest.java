package io.streamvision.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opentelemetry.context.Context;
import io.streamvision.proto.inference.InferParameter;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.runtime.BatchQueue.Pending;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * The batcher's queue policy on its own: no threads, no clock (time is an argument), no model. The
 * batcher's behaviour under load, with a real model, is {@link DynamicBatcherTest}'s.
 */
class BatchQueueTest {

    private static final BatchingSettings.QueuePolicy REJECT_AFTER_1MS =
            new BatchingSettings.QueuePolicy(true, 1_000, false);
    private static final BatchingSettings.QueuePolicy DELAY_AFTER_1MS =
            new BatchingSettings.QueuePolicy(false, 1_000, true);

    private static ModelInferRequest request(String id, long priority, long timeoutMicros) {
        ModelInferRequest.Builder r =
                ModelInferRequest.newBuilder().setModelName("m").setId(id);
        if (priority > 0) {
            r.putParameters(
                    "priority",
                    InferParameter.newBuilder().setInt64Param(priority).build());
        }
        if (timeoutMicros > 0) {
            r.putParameters(
                    "timeout",
                    InferParameter.newBuilder().setUint64Param(timeoutMicros).build());
        }
        return r.build();
    }

    private static Pending pending(BatchQueue queue, String id, long priority, long rows, long now) {
        ModelInferRequest request = request(id, priority, 0);
        return new Pending(
                request, "", true, rows, now, queue.deadline(request, now), new CompletableFuture<>(), Context.root());
    }

    private static List<String> ids(List<Pending> batch) {
        return batch.stream().map(p -> p.request().getId()).toList();
    }

    @Test
    void higherLevelsGoFirstAndEachLevelInOrder() {
        BatchQueue queue = new BatchQueue(new BatchingSettings(8, 100, 64, 3, 2, BatchingSettings.QueuePolicy.NONE));
        queue.add(pending(queue, "low", 3, 1, 0));
        queue.add(pending(queue, "default-1", 0, 1, 1));
        queue.add(pending(queue, "high", 1, 1, 2));
        queue.add(pending(queue, "default-2", 0, 1, 3));
        queue.add(pending(queue, "past-the-last-level", 9, 1, 4));
        assertEquals(2, queue.priority(request("x", 0, 0)), "absent: the default level");
        assertEquals(3, queue.priority(request("x", 9, 0)), "beyond the levels: the lowest");
        List<Pending> batch = new ArrayList<>();
        assertEquals(5, queue.fill(batch, 0));
        assertEquals(List.of("high", "default-1", "default-2", "low", "past-the-last-level"), ids(batch));
        assertNull(queue.peek());
    }

    @Test
    void aBatchTakesRequestsWhileTheirRowsFitAndAlwaysTheFirst() {
        BatchQueue queue = new BatchQueue(new BatchingSettings(8, 100, 64));
        queue.add(pending(queue, "a", 0, 3, 0));
        queue.add(pending(queue, "b", 0, 3, 1));
        queue.add(pending(queue, "c", 0, 3, 2));
        List<Pending> first = new ArrayList<>();
        assertEquals(6, queue.fill(first, 0));
        assertEquals(List.of("a", "b"), ids(first), "c's 3 rows would make 9 of 8");
        assertEquals(1, queue.waiting());

        queue.add(pending(queue, "big", 0, 20, 3));
        List<Pending> second = new ArrayList<>();
        assertEquals(3, queue.fill(second, 0));
        assertEquals(List.of("c"), ids(second), "order is kept: big waits behind c");
        List<Pending> third = new ArrayList<>();
        assertEquals(20, queue.fill(third, 0));
        assertEquals(List.of("big"), ids(third), "a request over the maximum still runs, alone");
    }

    @Test
    void aBatchMustRunOnceItsFirstRequestHasWaitedTheDelay() {
        BatchQueue queue = new BatchQueue(new BatchingSettings(8, 250, 64));
        queue.add(pending(queue, "a", 0, 1, 1_000_000));
        queue.add(pending(queue, "b", 0, 1, 1_100_000));
        assertEquals(1_000_000 + 250_000, queue.batchDeadline());
    }

    @Test
    void queueIsFullAtItsMaximumSize() {
        BatchQueue queue = new BatchQueue(new BatchingSettings(8, 100, 2));
        queue.add(pending(queue, "a", 0, 1, 0));
        assertFalse(queue.full());
        queue.add(pending(queue, "b", 0, 1, 0));
        assertTrue(queue.full());
    }

    @Test
    void rejectPolicyTakesTimedOutRequestsOut() {
        BatchQueue queue = new BatchQueue(new BatchingSettings(8, 100, 64, 1, 1, REJECT_AFTER_1MS));
        queue.add(pending(queue, "early", 0, 1, 0));
        queue.add(pending(queue, "later", 0, 1, 500_000));
        List<Pending> rejected = new ArrayList<>();
        queue.expire(999_999, rejected);
        assertTrue(rejected.isEmpty(), "not yet past 1 ms");
        queue.expire(1_000_000, rejected);
        assertEquals(List.of("early"), ids(rejected));
        assertEquals(1, queue.waiting());
        assertEquals(
                1_000_000,
                queue.deadline(request("own", 0, 50), 0),
                "the policy does not allow a request's own timeout: the default applies");
    }

    @Test
    void delayPolicyMovesTimedOutRequestsBehindAllOthers() {
        BatchQueue queue = new BatchQueue(new BatchingSettings(8, 100, 64, 2, 2, DELAY_AFTER_1MS));
        queue.add(pending(queue, "urgent-but-old", 1, 1, 0));
        List<Pending> rejected = new ArrayList<>();
        queue.expire(2_000_000, rejected);
        queue.add(pending(queue, "fresh-low", 2, 1, 2_000_000));
        assertTrue(rejected.isEmpty(), "a DELAY policy rejects nothing");
        List<Pending> batch = new ArrayList<>();
        queue.fill(batch, 0);
        assertEquals(List.of("fresh-low", "urgent-but-old"), ids(batch));
        assertEquals(50_000, queue.deadline(request("own", 0, 50), 0), "its own timeout, allowed here");
    }

    @Test
    void withoutATimeoutNothingExpires() {
        BatchQueue queue = new BatchQueue(new BatchingSettings(8, 100, 64));
        assertEquals(Long.MAX_VALUE, queue.deadline(request("a", 0, 50), 0));
        queue.add(pending(queue, "a", 0, 1, 0));
        List<Pending> rejected = new ArrayList<>();
        queue.expire(Long.MAX_VALUE - 1, rejected);
        assertTrue(rejected.isEmpty());
        assertEquals(1, queue.waiting());
    }
}
