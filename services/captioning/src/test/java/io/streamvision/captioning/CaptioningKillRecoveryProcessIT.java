package io.streamvision.captioning;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.streamvision.kafka.Topics;
import io.streamvision.proto.vision.v1.Caption;
import io.streamvision.testing.KafkaBrokerExtension;
import io.streamvision.testing.KillDashNine;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TestModels;
import io.streamvision.testing.TopicCollector;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Exactly once across a crash for the captioning loop: the packaged service is killed with SIGKILL
 * part-way through 2,000 feature records and started again with the same transactional id; every
 * input then has exactly one caption in read_committed.
 */
@ExtendWith(KafkaBrokerExtension.class)
class CaptioningKillRecoveryProcessIT {

    static final String SUFFIX = ".it-caption-kill";

    @Test
    void everyInputHasExactlyOneCaptionAfterAKillDashNine() throws Exception {
        Topics topics = new Topics(SUFFIX);
        TestBroker broker = TestBrokers.shared();
        JsonNode scenes = new ObjectMapper()
                .readTree(TestModels.dir()
                        .resolve("caption-decoder/1/fixtures/greedy.json")
                        .toFile())
                .get("fixtures");
        try (TopicCollector captions = broker.collect(topics.captions().name())) {
            KillDashNine.run(
                            broker,
                            "caption-kill",
                            KillDashNine.RECORDS,
                            KillDashNine.service(broker, SUFFIX, "vision.captioning", Map.of()),
                            topics.features().name(),
                            "cap-",
                            (id, i) -> CaptioningServiceIT.features(
                                            id,
                                            "caption-encoder",
                                            scenes.get(i % scenes.size()).get("features"))
                                    .toByteArray(),
                            captions,
                            value -> Caption.parseFrom(value).getRequestId())
                    .assertExactlyOnce();
        }
    }
}
