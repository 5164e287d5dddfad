package io.streamvision.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.streamvision.model.ModelConfig;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One loaded model version: its config and its ONNX Runtime session. {@link OrtSession#run} is
 * thread-safe, so one instance serves every caller. Closing it releases native memory; callers that
 * may race with an unload hold a {@link #retain() reference}.
 */
public final class LoadedModel implements AutoCloseable {

    private final ModelConfig config;
    private final OrtSession session;
    private final String provider;
    private final BatchingSettings batching;
    private final String configDigest;
    private final DomainScore domain;
    /** Normalisation tables of UINT8 inputs, by input name and channel count, made on first use. */
    private final Map<String, float[][]> normalisations = new ConcurrentHashMap<>();

    private final AtomicInteger references = new AtomicInteger(1);

    LoadedModel(
            ModelConfig config,
            OrtSession session,
            String provider,
            int instances,
            String configDigest,
            DomainScore domain) {
        this.config = config;
        this.domain = domain;
        this.session = session;
        this.provider = provider;
        this.batching = BatchingSettings.of(config).withInstances(instances);
        this.configDigest = configDigest;
    }

    public ModelConfig config() {
        return config;
    }

    public String name() {
        return config.name();
    }

    public int version() {
        return config.version();
    }

    /** Execution provider the session runs on: {@code cpu} or {@code cuda}. */
    public String provider() {
        return provider;
    }

    /** The out-of-domain score of this version's answers, or null when its config has none. */
    public DomainScore domain() {
        return domain;
    }

    /** SHA-256 of the {@code config.json} this version was loaded from. */
    public String configDigest() {
        return configDigest;
    }

    /**
     * {@link ModelConfig.TensorSpec#normalisation} of one of this model's inputs, computed once
     * rather than for every request that sends UINT8 pixels.
     */
    float[][] normalisation(ModelConfig.TensorSpec input, int channels) {
        return normalisations.computeIfAbsent(input.name() + '/' + channels, k -> input.normalisation(channels));
    }

    /** Batches of this model that may run at once ({@link ExecutionSettings#instances()}). */
    public int instances() {
        return batching.instances();
    }

    /** Its batching block and instances, read once when it was loaded. */
    public BatchingSettings batching() {
        return batching;
    }

    /** Runs the model; the caller closes the result. */
    public OrtSession.Result run(Map<String, OnnxTensor> inputs, List<String> outputs) throws OrtException {
        return session.run(inputs, new LinkedHashSet<>(outputs));
    }

    /**
     * Takes a reference that keeps the session open until {@link #release()}; false when already
     * closed.
     */
    public boolean retain() {
        while (true) {
            int n = references.get();
            if (n <= 0) {
                return false;
            }
            if (references.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    /** Gives back a reference; the last one closes the session. */
    public void release() {
        if (references.decrementAndGet() == 0) {
            try {
                session.close();
            } catch (OrtException e) {
                throw new IllegalStateException("Could not close session of " + name() + " v" + version(), e);
            }
        }
    }

    /** Drops the owner's reference; the session closes once in-flight callers are done. */
    @Override
    public void close() {
        release();
    }
}
