package io.streamvision.captioning.streams;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.streamvision.proto.vision.v1.LabelSegment;
import java.nio.file.Path;
import java.util.List;

/**
 * Asserts that a label timeline matches the sample video's schedule (samples/video-schedule.json).
 */
public final class ScheduleCheck {

    private ScheduleCheck() {}

    /**
     * One segment per scheduled item, same class, start and end within one sampling interval
     * ({@code everyNFrames} frames at the video's rate).
     */
    public static void assertMatches(Path scheduleFile, int everyNFrames, List<LabelSegment> timeline)
            throws Exception {
        JsonNode schedule = new ObjectMapper().readTree(scheduleFile.toFile());
        JsonNode segments = schedule.get("segments");
        long intervalMs = Math.round(1000.0 * everyNFrames / schedule.get("fps").asDouble());
        assertEquals(segments.size(), timeline.size(), "one segment per scheduled item: " + timeline);
        for (int i = 0; i < segments.size(); i++) {
            JsonNode expected = segments.get(i);
            LabelSegment got = timeline.get(i);
            assertEquals(expected.get("class_name").asText(), got.getLabel(), "segment " + i);
            assertTrue(
                    Math.abs(got.getStartMs() - expected.get("start_s").asDouble() * 1000) <= intervalMs,
                    "segment " + i + " starts at " + got.getStartMs() + " ms");
            assertTrue(
                    Math.abs(got.getEndMs() - expected.get("end_s").asDouble() * 1000) <= intervalMs,
                    "segment " + i + " ends at " + got.getEndMs() + " ms");
            assertTrue(got.getMeanConfidence() > 0.5f, "segment " + i + " confidence " + got.getMeanConfidence());
        }
    }
}
