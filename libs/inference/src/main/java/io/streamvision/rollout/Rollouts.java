package io.streamvision.rollout;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.apache.kafka.common.utils.Utils;
import org.jboss.logging.Logger;

/**
 * The rollout of each model that has one: which version serves, which candidate is compared with
 * it, which share of the keys the candidate answers, and the rule that moves it on or rolls it back.
 *
 * <p>Routing is by key (a video's id for its frames, so a video never mixes versions; else the
 * request's id): the key's murmur2 hash (Kafka's partitioner hash, the same in every instance and
 * every language Kafka has a client in) picks one of 10,000 buckets, and the candidate answers the
 * lowest {@code percent × 100} of them, so a key keeps its version while the share stays and a
 * growing share only moves keys to the candidate.
 *
 * <p>A state change (a new rollout file, a step, a promotion, a rollback) is announced to the
 * listeners as an {@link Event}; {@link #restore} takes such events back after a restart, so a
 * promotion or a rollback outlives the process. Thread-safe.
 */
public final class Rollouts implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(Rollouts.class);

    /** Buckets of the key space; a share is a number of buckets. */
    static final int BUCKETS = 10_000;

    public enum Status {
        /** The candidate is compared (and answers its share): gates and schedule apply. */
        ACTIVE,
        /** The candidate answers everything. */
        PROMOTED,
        /** The candidate is out; the serving version answers everything. */
        ROLLED_BACK
    }

    /** What happened to a model's rollout, with the figures at that moment. */
    public record Event(
            String model,
            String type,
            String digest,
            Status status,
            int step,
            int serving,
            Integer candidate,
            double percent,
            String reason,
            VersionComparison.Snapshot figures,
            long atMillis) {}

    /** A model's rollout now: its settings (and their digest), where it stands, and why. */
    public record State(
            RolloutSettings settings, String digest, Status status, int step, String reason, long stepPairs) {

        /** The version answering requests that name none (and are not the candidate's share). */
        public int servingVersion() {
            return status == Status.PROMOTED && settings.candidate() != null
                    ? settings.candidate()
                    : settings.serving();
        }

        /** The candidate still being compared, or null. */
        public Integer activeCandidate() {
            return status == Status.ACTIVE ? settings.candidate() : null;
        }

        /** The candidate's share of the keys, in percent (0 while it shadows or when it is out). */
        public double percent() {
            return status == Status.ACTIVE && settings.candidate() != null
                    ? settings.steps().get(step).percent()
                    : 0;
        }
    }

    private final Map<String, State> states = new ConcurrentHashMap<>();
    private final Map<String, VersionComparison> comparisons = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> batches = new ConcurrentHashMap<>();
    private final Map<String, Event> restored = new ConcurrentHashMap<>();
    private final List<Consumer<Event>> listeners = new CopyOnWriteArrayList<>();
    private volatile Consumer<String> onChange = model -> {};
    private final ScheduledExecutorService evaluator = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "rollout-gates");
        t.setDaemon(true);
        return t;
    });

    /** Serialises {@link #evaluate()}, so two evaluations never move one rollout twice. */
    private final Object evaluating = new Object();

    /** Rollouts whose gates and schedule are checked every second. */
    public Rollouts() {
        this(true);
    }

    /** @param everySecond check gates and schedule every second (false: only on {@link #evaluate()}) */
    public Rollouts(boolean everySecond) {
        if (everySecond) {
            evaluator.scheduleWithFixedDelay(this::evaluateQuietly, 1, 1, TimeUnit.SECONDS);
        }
    }

    /** Called with the model's name after a step, promotion or rollback changes what must be loaded. */
    public void onChange(Consumer<String> action) {
        this.onChange = action;
    }

    public void addListener(Consumer<Event> listener) {
        listeners.add(listener);
    }

    /**
     * Takes back what earlier events said (the newest per model wins): when the same rollout file
     * (by digest) is read again, it resumes at that step, promoted or rolled back.
     */
    public void restore(Event event) {
        restored.merge(event.model(), event, (old, e) -> e.atMillis() >= old.atMillis() ? e : old);
    }

    /**
     * What another instance decided for a rollout this one runs too (the same settings digest): its
     * step, promotion or rollback is taken here without being announced again. Events for other
     * settings are kept for {@link #update} as {@link #restore} keeps them.
     */
    public void follow(Event event) {
        State next;
        synchronized (this) {
            State state = states.get(event.model());
            if (state == null || !state.digest().equals(event.digest())) {
                restore(event);
                return;
            }
            if (state.status() == event.status() && state.step() == event.step()) {
                return;
            }
            if (state.status() == Status.ROLLED_BACK) {
                return; // a rollback here is final for these settings
            }
            next = new State(
                    state.settings(),
                    state.digest(),
                    event.status(),
                    event.step(),
                    event.reason(),
                    snapshotPairs(event.model()));
            states.put(event.model(), next);
        }
        LOG.infof(
                "Model %s: rollout %s at step %d, as another instance decided (%s)",
                event.model(), event.status(), event.step(), event.reason());
        onChange.accept(event.model());
    }

    /**
     * The model's rollout file as read now (null: it has none), by its digest: the same digest keeps
     * the state, another starts the rollout afresh. Returns the state, or null without a rollout.
     */
    public State update(String model, RolloutSettings settings, String digest) {
        if (settings == null) {
            State gone = states.remove(model);
            comparisons.remove(model);
            if (gone != null) {
                LOG.infof("Model %s: its rollout file is gone; the newest version serves again", model);
            }
            return null;
        }
        State current = states.get(model);
        if (current != null && current.digest().equals(digest)) {
            return current;
        }
        State fresh = new State(settings, digest, Status.ACTIVE, 0, "", 0);
        Event before = restored.get(model);
        if (before != null
                && digest.equals(before.digest())
                && before.step() < settings.steps().size()) {
            fresh = new State(settings, digest, before.status(), before.step(), before.reason(), 0);
            LOG.infof(
                    "Model %s: rollout resumed as %s at step %d (%s)",
                    model, before.status(), before.step(), before.type());
        }
        states.put(model, fresh);
        comparisons.put(model, new VersionComparison());
        if (before == null || !digest.equals(before.digest())) {
            announce(model, "started", fresh, "rollout file read");
        }
        return fresh;
    }

    public State state(String model) {
        return states.get(model);
    }

    public Map<String, State> states() {
        return Map.copyOf(states);
    }

    /** The comparison of the model's versions, or null without an active rollout. */
    public VersionComparison comparison(String model) {
        return comparisons.get(model);
    }

    /**
     * The version that answers a request with this key and no version of its own: the candidate's
     * version when the key falls in its share, else "" (the serving version).
     */
    public String route(String model, String key) {
        State state = states.get(model);
        if (state == null) {
            return "";
        }
        double percent = state.percent();
        Integer candidate = state.activeCandidate();
        if (candidate != null && percent > 0 && bucket(key) < percent * (BUCKETS / 100.0)) {
            return Integer.toString(candidate);
        }
        return state.status() == Status.PROMOTED ? Integer.toString(state.servingVersion()) : "";
    }

    /** The key's bucket, 0 to 9,999: a candidate with a share of p percent answers those below p × 100. */
    public static int bucket(String key) {
        return Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % BUCKETS;
    }

    /**
     * The serving and candidate versions to pair on the next batch, or null: no active candidate,
     * or not this batch ({@code shadow.sample}).
     */
    public int[] pairNext(String model) {
        State state = states.get(model);
        Integer candidate = state == null ? null : state.activeCandidate();
        if (candidate == null) {
            return null;
        }
        long n = batches.computeIfAbsent(model, m -> new AtomicLong()).getAndIncrement();
        return n % state.settings().sample() == 0 ? new int[] {state.servingVersion(), candidate} : null;
    }

    /** Moves the candidate to every request now (an operator's decision, or the last step). */
    public void promote(String model, String reason) {
        change(model, Status.PROMOTED, -1, "promoted", reason);
    }

    /** Takes the candidate out now; the serving version answers everything. */
    public void rollback(String model, String reason) {
        change(model, Status.ROLLED_BACK, -1, "rolled_back", reason);
    }

    private void change(String model, Status status, int step, String type, String reason) {
        State next;
        synchronized (this) {
            State state = states.get(model);
            if (state == null || state.settings().candidate() == null) {
                throw new IllegalStateException("model " + model + " has no rollout with a candidate version");
            }
            if (state.status() != Status.ACTIVE && status != Status.ACTIVE) {
                if (state.status() == status) {
                    return;
                }
            }
            next = new State(
                    state.settings(),
                    state.digest(),
                    status,
                    step < 0 ? state.step() : step,
                    reason,
                    snapshotPairs(model));
            states.put(model, next);
        }
        if (status == Status.ROLLED_BACK) {
            LOG.warnf(
                    "Model %s: candidate v%d rolled back (%s)",
                    model, next.settings().candidate(), reason);
        } else {
            LOG.infof(
                    "Model %s: %s, v%d now %s (%s)",
                    model,
                    type,
                    next.settings().candidate(),
                    status == Status.PROMOTED ? "answers everything" : "answers " + next.percent() + " %",
                    reason);
        }
        announce(model, type, next, reason);
        onChange.accept(model);
    }

    private long snapshotPairs(String model) {
        VersionComparison c = comparisons.get(model);
        return c == null ? 0 : c.snapshot().pairs();
    }

    private void announce(String model, String type, State state, String reason) {
        VersionComparison c = comparisons.get(model);
        Event event = new Event(
                model,
                type,
                state.digest(),
                state.status(),
                state.step(),
                state.settings().serving(),
                state.settings().candidate(),
                state.percent(),
                reason,
                c == null ? null : c.snapshot(),
                System.currentTimeMillis());
        for (Consumer<Event> listener : listeners) {
            try {
                listener.accept(event);
            } catch (RuntimeException e) {
                LOG.warnf("A rollout event listener failed: %s", e.getMessage());
            }
        }
    }

    private void evaluateQuietly() {
        try {
            evaluate();
        } catch (RuntimeException e) {
            LOG.warn("Rollout gate evaluation failed", e);
        }
    }

    /** Checks every active rollout's gates (rolling back on a failure) and schedule (moving on). */
    public void evaluate() {
        synchronized (evaluating) {
            evaluateNow();
        }
    }

    private void evaluateNow() {
        for (Map.Entry<String, State> entry : states.entrySet()) {
            String model = entry.getKey();
            State state = entry.getValue();
            VersionComparison comparison = comparisons.get(model);
            if (state.activeCandidate() == null || comparison == null) {
                continue;
            }
            VersionComparison.Snapshot s = comparison.snapshot();
            String failed = failedGate(state.settings().gates(), s);
            if (failed != null) {
                rollback(model, "gate failed: " + failed);
                continue;
            }
            List<RolloutSettings.Step> steps = state.settings().steps();
            if (state.settings().scheduled()
                    && state.step() + 1 < steps.size()
                    && s.pairs() >= state.settings().gates().minPairs()
                    && s.pairs() - state.stepPairs() >= state.settings().stepPairs()) {
                int next = state.step() + 1;
                String why = String.format(
                        "%d inputs paired in step %d, gates held", s.pairs() - state.stepPairs(), state.step());
                if (steps.get(next).promotes()) {
                    change(model, Status.PROMOTED, next, "promoted", why);
                } else {
                    change(model, Status.ACTIVE, next, "advanced", why);
                }
            }
        }
    }

    /** The first gate the figures fail, described, or null. */
    static String failedGate(RolloutSettings.Gates gates, VersionComparison.Snapshot s) {
        if (gates.maxErrorRate() > 0) {
            // Judged once enough requests ran for one failure to matter (and at most minPairs).
            long enough = (long) Math.ceil(1 / gates.maxErrorRate());
            if (gates.minPairs() > 0) {
                enough = Math.min(enough, gates.minPairs());
            }
            if (s.candidateRequests() >= enough && s.candidateErrorRate() > gates.maxErrorRate()) {
                return String.format(
                        "error rate %.4f > %.4f (%d of %d requests failed)",
                        s.candidateErrorRate(), gates.maxErrorRate(), s.candidateErrors(), s.candidateRequests());
            }
        }
        if (s.pairs() < Math.max(1, gates.minPairs())) {
            return null;
        }
        if (gates.minAgreement() > 0 && !Double.isNaN(s.agreement()) && s.agreement() < gates.minAgreement()) {
            return String.format(
                    "%s %.4f < %.4f over %d paired %s",
                    s.agreementName(), s.agreement(), gates.minAgreement(), s.agreementRows(), s.agreementUnit());
        }
        if (gates.maxP99Ratio() > 0 && !Double.isNaN(s.p99Ratio()) && s.p99Ratio() > gates.maxP99Ratio()) {
            return String.format(
                    "compute p99 %.2f ms = %.2f × serving's %.2f ms > %.2f ×",
                    s.candidateP99Ms(), s.p99Ratio(), s.servingP99Ms(), gates.maxP99Ratio());
        }
        return null;
    }

    @Override
    public void close() {
        evaluator.shutdownNow();
    }
}
