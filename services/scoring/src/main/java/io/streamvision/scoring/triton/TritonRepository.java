package io.streamvision.scoring.triton;

import io.streamvision.model.ModelRepository;
import io.streamvision.proto.inference.RepositoryIndexResponse;
import io.streamvision.runtime.LoadedModel;
import io.streamvision.runtime.ModelRegistry;
import java.util.List;
import java.util.Map;

/**
 * The model repository as Triton's {@code RepositoryIndexResponse}: every version of every model in
 * the repository folder, {@code READY} when it is the version served, {@code UNAVAILABLE} with the
 * reason otherwise (an older version, a model not among {@code vision.scoring.models}, or the load
 * failure). Stateless.
 */
public final class TritonRepository {

    private TritonRepository() {}

    /** Longest an unload waits for the model's queue to empty. */
    static final java.time.Duration DRAIN = java.time.Duration.ofSeconds(30);

    /** Why a load or unload was refused, as a status kind and a message. */
    public static final class RefusedException extends Exception {
        public enum Kind {
            NOT_FOUND,
            INVALID,
            NOT_ALLOWED,
            FAILED
        }

        private final Kind kind;

        RefusedException(Kind kind, String message) {
            super(message);
            this.kind = kind;
        }

        public Kind kind() {
            return kind;
        }
    }

    /**
     * Loads or reloads {@code name}; explicit model control only. {@code parameters}: {@code config}
     * (Triton's model configuration as JSON, applied over the repository's, {@link
     * TritonConfigOverride}); {@code files}: the {@code file:<version>/<path>} parameters' contents
     * by path without the prefix, the model's files instead of the repository's ({@link
     * TritonFileOverride}); empty: the repository's.
     */
    public static void load(
            io.streamvision.runtime.ServedModels models,
            String name,
            Map<String, String> parameters,
            Map<String, byte[]> files)
            throws RefusedException {
        if (!models.registry().explicit()) {
            throw new RefusedException(
                    RefusedException.Kind.NOT_ALLOWED,
                    "models are loaded on request only with vision.scoring.model-control-mode=explicit; this"
                            + " service polls its repository");
        }
        java.util.Set<String> unknown = new java.util.TreeSet<>(parameters.keySet());
        unknown.remove("config");
        if (!unknown.isEmpty()) {
            throw new RefusedException(
                    RefusedException.Kind.INVALID,
                    "load parameters " + unknown + " are not supported (config and " + TritonFileOverride.PREFIX
                            + "<version>/<file> are)");
        }
        if (files.isEmpty()
                && !models.registry().runtime().repository().modelNames().contains(name)) {
            throw new RefusedException(
                    RefusedException.Kind.NOT_FOUND,
                    "model " + name + " is not in the repository "
                            + models.registry().runtime().repository().root());
        }
        java.util.function.UnaryOperator<io.streamvision.model.ModelConfig> override = null;
        if (parameters.containsKey("config")) {
            try {
                override = TritonConfigOverride.parse(name, parameters.get("config"));
            } catch (IllegalArgumentException e) {
                throw new RefusedException(RefusedException.Kind.INVALID, e.getMessage());
            }
        }
        ModelRepository source = null;
        if (!files.isEmpty()) {
            try {
                source = TritonFileOverride.stage(models.registry().runtime().repository(), name, files);
            } catch (IllegalArgumentException e) {
                throw new RefusedException(RefusedException.Kind.INVALID, e.getMessage());
            } catch (java.io.UncheckedIOException e) {
                throw new RefusedException(RefusedException.Kind.FAILED, e.getMessage());
            }
        }
        try {
            models.load(name, override, source);
        } catch (RuntimeException e) {
            throw new RefusedException(RefusedException.Kind.FAILED, "failed to load " + name + ": " + e.getMessage());
        }
    }

    /** Stops serving {@code name} once its queue is empty; explicit model control only. */
    public static void unload(
            io.streamvision.runtime.ServedModels models, io.streamvision.runtime.DynamicBatcher batcher, String name)
            throws RefusedException {
        if (!models.registry().explicit()) {
            throw new RefusedException(
                    RefusedException.Kind.NOT_ALLOWED,
                    "models are unloaded on request only with vision.scoring.model-control-mode=explicit; this"
                            + " service polls its repository");
        }
        try {
            if (!models.unload(name, () -> batcher.queued(name) == 0, DRAIN)) {
                throw new RefusedException(RefusedException.Kind.NOT_FOUND, "model " + name + " is not loaded");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RefusedException(RefusedException.Kind.FAILED, "interrupted while unloading " + name);
        }
    }

    public static RepositoryIndexResponse index(ModelRegistry registry, boolean readyOnly) {
        ModelRepository repository = registry.runtime().repository();
        Map<String, LoadedModel> serving = registry.serving();
        Map<String, String> failures = registry.failures();
        RepositoryIndexResponse.Builder out = RepositoryIndexResponse.newBuilder();
        java.util.SortedSet<String> names = new java.util.TreeSet<>(repository.modelNames());
        names.addAll(serving.keySet()); // loaded from a request's own files
        for (String name : names) {
            LoadedModel served = serving.get(name);
            List<Integer> versions = registry.repositoryOf(name).versions(name);
            for (int version : versions) {
                RepositoryIndexResponse.ModelIndex.Builder entry = RepositoryIndexResponse.ModelIndex.newBuilder()
                        .setName(name)
                        .setVersion(Integer.toString(version));
                if (served != null && served.version() == version) {
                    entry.setState("READY");
                } else if (readyOnly) {
                    continue;
                } else {
                    entry.setState("UNAVAILABLE").setReason(reason(name, version, served, failures));
                }
                out.addModels(entry);
            }
        }
        return out.build();
    }

    private static String reason(String name, int version, LoadedModel served, Map<String, String> failures) {
        String failure = failures.get(name);
        if (failure != null && (served == null || version > served.version())) {
            return failure;
        }
        if (served != null) {
            return "version " + served.version() + " is served";
        }
        return "not served by this instance (vision.scoring.models)";
    }
}
