package io.streamvision.scoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamvision.kafka.Topics;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.ModelEvent;
import io.streamvision.rollout.Rollouts;
import io.streamvision.testing.ExactlyOnce;
import io.streamvision.testing.KafkaBrokerExtension;
import io.streamvision.testing.KillDashNine;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TestModels;
import io.streamvision.testing.TopicCollector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Exactly once through a rollout: the packaged scoring service, serving lenet v1 with a v2 beside it,
 * is killed with SIGKILL part-way through 2,000 records and started again. During a canary every
 * input has exactly one result, from the version its key routes to; during a scheduled promotion
 * every input has exactly one result, the stream ends on v2, and the promotion is on the events
 * topic, from which a restarted process resumes.
 */
@ExtendWith(KafkaBrokerExtension.class)
class RolloutKillProcessIT {

    @Test
    void aCanaryAnswersEachInputOnceFromTheVersionItsKeyRoutesToAcrossAKill() throws Exception {
        Map<String, String> versions =
                run(".it-kill-canary", "{\"serving\": 1, \"canary\": {\"version\": 2, \"percent\": 30}}");
        int toCandidate = 0;
        for (Map.Entry<String, String> answer : versions.entrySet()) {
            String expected = Rollouts.bucket(answer.getKey()) < 3000 ? "2" : "1";
            assertEquals(expected, answer.getValue(), answer.getKey());
            toCandidate += expected.equals("2") ? 1 : 0;
        }
        double share = toCandidate / (double) versions.size();
        assertTrue(Math.abs(share - 0.30) < 0.04, "share " + share);
    }

    @Test
    void aPromotionAnswersEachInputOnceAcrossAKillAndSurvivesIt() throws Exception {
        String suffix = ".it-kill-promote";
        Map<String, String> versions = run(
                suffix,
                "{\"serving\": 1, \"shadow\": {\"version\": 2}, \"schedule\": [\"shadow\", 50, 100], \"step_pairs\": 150}");
        long byCandidate = versions.values().stream().filter("2"::equals).count();
        assertTrue(byCandidate > 0 && byCandidate < versions.size(), byCandidate + " answered by v2");
        assertEquals("2", versions.get("rec-" + (KillDashNine.RECORDS - 1)), "the stream ends promoted");
        TestBroker broker = TestBrokers.shared();
        try (TopicCollector events =
                broker.collect(new Topics(suffix).modelEvents().name())) {
            events.awaitAtLeast(2, java.time.Duration.ofSeconds(10));
            List<String> types = events.records().stream()
                    .map(r -> {
                        try {
                            return ModelEvent.parseFrom(r.value()).getType();
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    })
                    .toList();
            assertTrue(types.contains("advanced") && types.contains("promoted"), types.toString());
        }
    }

    /** Runs the kill test on lenet v1 and v2 with this rollout; returns the answering version by id. */
    private static Map<String, String> run(String suffix, String rollout) throws Exception {
        Path repo = Files.createTempDirectory("rollout-kill-");
        for (String version : List.of("1", "2")) {
            Path dir = Files.createDirectories(repo.resolve("lenet").resolve(version));
            try (var files = Files.list(TestModels.dir().resolve("lenet/1"))) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    Files.copy(f, dir.resolve(f.getFileName()));
                }
            }
            Files.writeString(
                    dir.resolve("config.json"),
                    Files.readString(dir.resolve("config.json")).replace("\"version\": 1", "\"version\": " + version));
        }
        Files.writeString(repo.resolve("lenet/rollout.json"), rollout);
        TestBroker broker = TestBrokers.shared();
        Topics topics = new Topics(suffix);
        Map<String, String> versions = new HashMap<>();
        try (TopicCollector scores = broker.collect(topics.scores().name());
                TopicCollector deadLetters = broker.collect(topics.deadLetters().name())) {
            ExactlyOnce counted = KillDashNine.run(
                    broker,
                    "rollout-kill" + suffix.replace(".it-kill", ""),
                    KillDashNine.RECORDS,
                    KillDashNine.service(
                            broker,
                            suffix,
                            "vision.scoring",
                            Map.of("vision.scoring.models", "lenet", "vision.scoring.models-dir", repo.toString())),
                    topics.tensors("lenet").name(),
                    "rec-",
                    (id, i) -> ScoringServiceIT.image(id, "lenet", (i % 7) / 7f).toByteArray(),
                    scores,
                    value -> Classification.parseFrom(value).getRequestId());
            counted.assertExactlyOnce();
            assertEquals(0, deadLetters.records().size(), "no dead letters");
            for (ConsumerRecord<byte[], byte[]> record : scores.records()) {
                Classification c = Classification.parseFrom(record.value());
                versions.put(c.getRequestId(), c.getModelVersion());
            }
        }
        return versions;
    }
}
