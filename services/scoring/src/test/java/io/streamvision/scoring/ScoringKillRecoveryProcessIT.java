package io.streamvision.scoring;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.streamvision.kafka.Topics;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.testing.ExactlyOnce;
import io.streamvision.testing.KafkaBrokerExtension;
import io.streamvision.testing.KillDashNine;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TopicCollector;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Exactly once across a crash: the packaged scoring service runs as a separate process, is killed
 * with SIGKILL part-way through 2,000 records, and is started again with the same transactional id.
 * Every input must then have exactly one output in read_committed.
 */
@ExtendWith(KafkaBrokerExtension.class)
class ScoringKillRecoveryProcessIT {

    static final String SUFFIX = ".it-kill";

    @Test
    void everyInputHasExactlyOneOutputAfterAKillDashNine() throws Exception {
        TestBroker broker = TestBrokers.shared();
        Topics topics = new Topics(SUFFIX);
        try (TopicCollector scores = broker.collect(topics.scores().name());
                TopicCollector deadLetters = broker.collect(topics.deadLetters().name())) {
            ExactlyOnce counted = KillDashNine.run(
                    broker,
                    "scoring-kill",
                    KillDashNine.RECORDS,
                    KillDashNine.service(
                            broker,
                            SUFFIX,
                            "vision.scoring",
                            // Two instances: batches of one poll finish out of order.
                            Map.of("vision.scoring.models", "lenet", "vision.scoring.execution.instances", "2")),
                    topics.tensors("lenet").name(),
                    "rec-",
                    // Every other record UINT8 pixels, as preprocess sends them, the others FP32.
                    (id, i) -> (i % 2 == 0
                                    ? ScoringServiceIT.pixels(id, "lenet", (i % 7) / 7f)
                                    : ScoringServiceIT.image(id, "lenet", (i % 7) / 7f))
                            .toByteArray(),
                    scores,
                    value -> Classification.parseFrom(value).getRequestId());
            counted.assertExactlyOnce();
            assertEquals(0, deadLetters.records().size(), "no dead letters");
        }
    }
}
