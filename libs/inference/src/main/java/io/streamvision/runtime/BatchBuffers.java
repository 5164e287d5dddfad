package io.streamvision.runtime;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Direct buffers that one batch worker reuses from batch to batch, one per model input, grown when
 * a batch needs more: a batch's inputs are written into them, the tensors over them are closed
 * after the run, and the next batch writes over them again. Allocating a direct buffer zeroes it
 * and registers a cleaner, which costs more than the copy itself for small batches.
 *
 * <p>Not thread-safe: one instance per worker thread.
 */
public final class BatchBuffers {

    private final List<ByteBuffer> buffers = new ArrayList<>();

    /**
     * Where the last {@link InferenceEngine#infer} on these buffers spent its time, in nanoseconds:
     * converting and stacking the inputs, running the model, slicing the outputs per request (the
     * statistics' compute_input, compute_infer and compute_output).
     */
    private long inputNanos;

    private long inferNanos;
    private long outputNanos;

    void resetTimings() {
        inputNanos = 0;
        inferNanos = 0;
        outputNanos = 0;
    }

    void addTimings(long input, long infer, long output) {
        inputNanos += input;
        inferNanos += infer;
        outputNanos += output;
    }

    /** Input conversion time of the last batch. */
    public long inputNanos() {
        return inputNanos;
    }

    /** Model run time of the last batch. */
    public long inferNanos() {
        return inferNanos;
    }

    /** Output slicing time of the last batch. */
    public long outputNanos() {
        return outputNanos;
    }

    /** A buffer for input {@code index}, position 0 and limit {@code bytes}; its old contents stay. */
    ByteBuffer forInput(int index, long bytes) {
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a batch input of " + bytes + " bytes is over 2 GiB");
        }
        while (buffers.size() <= index) {
            buffers.add(null);
        }
        ByteBuffer buffer = buffers.get(index);
        if (buffer == null || buffer.capacity() < bytes) {
            // Grow by half again, so a slowly growing batch does not reallocate every time.
            long capacity = buffer == null ? bytes : Math.max(bytes, buffer.capacity() * 3L / 2);
            buffer = Tensors.direct((int) Math.min(Integer.MAX_VALUE, capacity));
            buffers.set(index, buffer);
        }
        buffer.clear().limit((int) bytes);
        return buffer;
    }
}
