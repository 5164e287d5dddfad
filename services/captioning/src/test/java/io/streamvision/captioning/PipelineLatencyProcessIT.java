package io.streamvision.captioning;

import static io.streamvision.captioning.ClusterDeployment.Service.CAPTIONING;
import static io.streamvision.captioning.ClusterDeployment.Service.PREPROCESS;
import static io.streamvision.captioning.ClusterDeployment.Service.SCORING;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamvision.testing.KafkaBrokerExtension;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestBrokers;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Latency of an image through all three services in the steady state: each image goes to the
 * demo classifier and the caption model, so its result joins labels and a caption. After a
 * warm-up (JIT, first transactions), images are sent at a steady rate and then all at once; the
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

    private static ClusterWorkload.Figures run(
            TestBroker broker, ClusterDeployment d, String prefix, int images, int rate) throws Exception {
        try (ClusterWorkload work = new ClusterWorkload(broker, d, images, rate, prefix, false)) {
            work.start();
            return work.verify("latency " + prefix + (rate > 0 ? rate + "/s" : "burst"), 0, 0);
        }
    }
}
