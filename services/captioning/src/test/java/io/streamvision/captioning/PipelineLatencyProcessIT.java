package io.streamvision.captioning;

import static io.streamvision.captioning.ClusterDeployment.Service.CAPTIONING;
import static io.streamvision.captioning.ClusterDeployment.Service.PREPROCESS;
import static io.streamvision.captioning.ClusterDeployment.Service.SCORING;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamvision.testing.CompilerCpu;
import io.streamvision.testing.KafkaBrokerExtension;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestBrokers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Latency of an image through all three services in the steady state: each image goes to the
 * demo classifier and the caption model, so its result joins labels and a caption. After a
 * warm-up (first transactions; then bursts until the services' JIT compilers are nearly done, at
 * most 90 s), images are sent at a steady rate and then all at once; the
 * test prints p50 and p99 from send to result (read_committed) and the burst's throughput, and
 * checks each image got exactly one result. The only bound on time catches a regression of
 * seconds, not a figure: the figures are for the reader ({@code -Dvision.latency.*} changes the
 * sizes; {@code -Dvision.cluster.service.KEY=VALUE} passes settings to every service).
 */
@ExtendWith(KafkaBrokerExtension.class)
class PipelineLatencyProcessIT {

    static final int RATE = Integer.getInteger("vision.latency.rate", 20);
    static final int STEADY = Integer.getInteger("vision.latency.images", 600);
    static final int WARMUP = Integer.getInteger("vision.latency.warmup", 200);
    /** Warm-up bursts end once the services' JIT compilers took less of their CPU than this. */
    static final double JIT_SETTLED = 0.10;
    /** The longest the warm-up bursts go on: on two shared cores the compilers take minutes. */
    static final Duration WARMUP_LIMIT = Duration.ofSeconds(Integer.getInteger("vision.latency.warmup-seconds", 90));

    @Test
    void steadyStreamOfImagesThroughEveryService() throws Exception {
        TestBroker broker = TestBrokers.shared();
        String models = ClusterDeployment.MODEL + ",caption-encoder";
        try (ClusterDeployment d = new ClusterDeployment(broker, "latency")) {
            d.start(SCORING, 1, Map.of("vision.scoring.models", models));
            d.start(PREPROCESS, 1, Map.of("vision.preprocess.default-models", models));
            d.start(CAPTIONING, 1);
            for (var s : new ClusterDeployment.Service[] {SCORING, PREPROCESS, CAPTIONING}) {
                d.awaitReady(d.instance(s, 1));
            }
            run(broker, d, "warm-", WARMUP, RATE);
            warmUntilCompiled(broker, d);
            ClusterWorkload.Figures steady = run(broker, d, "steady-", STEADY, RATE);
            ClusterWorkload.Figures burst = run(broker, d, "burst-", STEADY, 0);
            System.out.printf(
                    "[latency IT] labels and a caption per image, one instance of each service, one broker:"
                            + " steady %d images/s: p50 %.0f ms, p99 %.0f ms, max %.0f ms; %d at once: %.1f"
                            + " images/s%n",
                    RATE, steady.p50Ms(), steady.p99Ms(), steady.maxMs(), STEADY, burst.imagesPerSecond());
            assertTrue(steady.p99Ms() < 10_000, "steady p99 within seconds: " + steady);
        }
    }

    /**
     * Bursts of images until the three services' JIT compilers took under {@link #JIT_SETTLED} of
     * their CPU in the last burst (read from their compiler threads), so the steady run measures
     * the services and not the compiler; at most {@link #WARMUP_LIMIT}.
     */
    private static void warmUntilCompiled(TestBroker broker, ClusterDeployment d) throws Exception {
        List<Long> pids = new ArrayList<>();
        for (var s : ClusterDeployment.Service.values()) {
            pids.add(d.instance(s, 1).pid());
        }
        long deadline = System.nanoTime() + WARMUP_LIMIT.toNanos();
        for (int round = 1; ; round++) {
            double[] before = compilerAndTotal(pids);
            run(broker, d, "compile" + round + "-", WARMUP, 0);
            double[] after = compilerAndTotal(pids);
            double share = (after[0] - before[0]) / Math.max(1, after[1] - before[1]);
            System.out.printf(
                    Locale.ROOT,
                    "[latency IT] warm-up burst %d: JIT compilers %.0f%% of the services' CPU%n",
                    round,
                    100 * share);
            if (share < JIT_SETTLED || System.nanoTime() > deadline) {
                return;
            }
        }
    }

    /** The compiler threads' CPU and the whole CPU of the processes, milliseconds. */
    private static double[] compilerAndTotal(List<Long> pids) {
        double compiler = 0;
        double total = 0;
        for (long pid : pids) {
            compiler += Math.max(0, CompilerCpu.ms(pid));
            total += CompilerCpu.processMs(pid);
        }
        return new double[] {compiler, total};
    }

    private static ClusterWorkload.Figures run(
            TestBroker broker, ClusterDeployment d, String prefix, int images, int rate) throws Exception {
        try (ClusterWorkload work = new ClusterWorkload(broker, d, images, rate, prefix, false)) {
            work.start();
            return work.verify("latency " + prefix + (rate > 0 ? rate + "/s" : "burst"), 0, 0);
        }
    }
}
