package io.streamvision.rollout;

import com.fasterxml.jackson.annotation.JsonIgnore;
import io.streamvision.model.ModelConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A model's rollout, read from {@code <repository>/<model>/rollout.json} (beside its version
 * folders: a rollout is between versions, and each version's {@code config.json} describes that
 * version alone). {@code serving} answers every request that names no version; an optional
 * {@code shadow} version scores a copy of the same batches (every {@code sample}-th batch) whose
 * outputs go only to the comparison; an optional {@code canary} version answers {@code percent} of
 * the keys. {@code gates} roll the candidate back when it misbehaves; {@code schedule} moves it on
 * by itself ({@code ["shadow", 5, 25, 100]}: shadow, then canary shares, 100 promotes), one step
 * each {@code step_pairs} paired inputs while the gates hold. Immutable.
 */
public record RolloutSettings(
        int serving, Shadow shadow, Canary canary, Gates gates, List<String> schedule, long stepPairs) {

    /** The shadow version and how often a batch is scored by it (1: every batch). */
    public record Shadow(int version, int sample) {
        public Shadow {
            sample = Math.max(1, sample);
        }
    }

    /** The canary version and its share of the keys, in percent. */
    public record Canary(int version, double percent) {}

    /**
     * Limits the candidate must stay within once {@code minPairs} inputs were paired: agreement with
     * the serving version (a classifier's top-1 agreement, a detector's detection agreement, see
     * {@link VersionComparison.Snapshot#agreement()}) at least {@code minAgreement}, failed requests at most
     * {@code maxErrorRate} of those it ran, compute p99 at most {@code maxP99Ratio} × the serving
     * version's on the same batches. 0 (or absent) turns a limit off.
     */
    public record Gates(double minAgreement, double maxErrorRate, double maxP99Ratio, long minPairs) {
        public static final Gates NONE = new Gates(0, 0, 0, 0);
    }

    /** One step of a schedule: shadow only (percent 0) or a canary share; 100 promotes. */
    public record Step(double percent) {
        public boolean promotes() {
            return percent >= 100;
        }
    }

    /** Default paired inputs per schedule step. */
    public static final long DEFAULT_STEP_PAIRS = 5_000;

    public RolloutSettings {
        if (serving <= 0) {
            throw new IllegalArgumentException("rollout: serving must name a version (a positive number)");
        }
        if (shadow != null && canary != null && shadow.version() != canary.version()) {
            throw new IllegalArgumentException("rollout: shadow (v" + shadow.version() + ") and canary (v"
                    + canary.version() + ") must be the same candidate version");
        }
        if (canary != null && (canary.percent() < 0 || canary.percent() > 100)) {
            throw new IllegalArgumentException("rollout: canary percent must lie in 0..100, not " + canary.percent());
        }
        gates = gates == null ? Gates.NONE : gates;
        schedule = schedule == null ? List.of() : List.copyOf(schedule);
        stepPairs = stepPairs <= 0 ? DEFAULT_STEP_PAIRS : stepPairs;
        if (!schedule.isEmpty() && shadow == null && canary == null) {
            throw new IllegalArgumentException("rollout: a schedule needs a candidate (shadow or canary version)");
        }
        Integer candidate =
                shadow != null ? Integer.valueOf(shadow.version()) : canary != null ? canary.version() : null;
        if (candidate != null && candidate == serving) {
            throw new IllegalArgumentException("rollout: the candidate is the serving version " + serving);
        }
        steps(schedule); // validates
    }

    /** The candidate version (shadow or canary), or null when the rollout has none. */
    @JsonIgnore
    public Integer candidate() {
        return shadow != null ? Integer.valueOf(shadow.version()) : canary != null ? canary.version() : null;
    }

    /** Shadow sampling: every n-th batch is paired (1 without a shadow block). */
    @JsonIgnore
    public int sample() {
        return shadow == null ? 1 : shadow.sample();
    }

    /**
     * The steps: the schedule's, or the one static step the settings describe (the canary's share,
     * 0 for shadow only).
     */
    @JsonIgnore
    public List<Step> steps() {
        if (schedule.isEmpty()) {
            return List.of(new Step(canary == null ? 0 : canary.percent()));
        }
        return steps(schedule);
    }

    @JsonIgnore
    public boolean scheduled() {
        return !schedule.isEmpty();
    }

    private static List<Step> steps(List<String> schedule) {
        List<Step> steps = new ArrayList<>();
        double last = -1;
        for (String s : schedule) {
            double percent;
            if ("shadow".equalsIgnoreCase(s.trim())) {
                percent = 0;
            } else {
                try {
                    percent = Double.parseDouble(s.trim().replace("%", ""));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(
                            "rollout: a schedule step is \"shadow\" or a percent, not '" + s + "'");
                }
            }
            if (percent < 0 || percent > 100 || percent < last) {
                throw new IllegalArgumentException("rollout: schedule shares rise from 0 to 100: " + schedule);
            }
            last = percent;
            steps.add(new Step(percent));
        }
        return steps;
    }

    /** Reads a rollout file (snake_case keys, unknown keys ignored). */
    public static RolloutSettings read(Path file) {
        try {
            return ModelConfig.JSON.readValue(file.toFile(), RolloutSettings.class);
        } catch (IOException e) {
            Throwable cause = e.getCause() instanceof IllegalArgumentException iae ? iae : e;
            throw new IllegalArgumentException("cannot read " + file + ": " + cause.getMessage(), e);
        }
    }

    /** Parses rollout settings from JSON text. */
    public static RolloutSettings parse(String json) {
        try {
            return ModelConfig.JSON.readValue(json, RolloutSettings.class);
        } catch (IOException e) {
            Throwable cause = e.getCause() instanceof IllegalArgumentException iae ? iae : e;
            throw new IllegalArgumentException("rollout settings: " + cause.getMessage(), e);
        }
    }
}
