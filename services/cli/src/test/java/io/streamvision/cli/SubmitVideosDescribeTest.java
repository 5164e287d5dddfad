package io.streamvision.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamvision.proto.vision.v1.ModelTimeline;
import io.streamvision.proto.vision.v1.VideoSummary;
import org.junit.jupiter.api.Test;

/** The summary lines `vision submit-videos` prints for a finished video. */
class SubmitVideosDescribeTest {

    @Test
    void saysHowManyFramesWereDecodedAndSkipped() {
        VideoSummary summary = VideoSummary.newBuilder()
                .setState(VideoSummary.State.COMPLETE)
                .setFramesSampled(100)
                .setFramesDecoded(240)
                .setFramesSkipped(260)
                .setDurationMs(20_000)
                .setProcessingMs(1_500)
                .addTimelines(ModelTimeline.newBuilder()
                        .setModelName("fashion-cnn")
                        .setModelVersion("1")
                        .setFramesScored(100))
                .build();
        String[] lines = SubmitVideosCommand.describe("video.mp4", summary).split("\\R");
        assertEquals("video.mp4: COMPLETE", lines[0]);
        assertEquals("  240 of 500 frames decoded (260 skipped: no sampled frame needed them)", lines[1]);
        assertTrue(lines[2].startsWith("  fashion-cnn v1: 100 of 100 frames scored, "), lines[2]);
    }

    @Test
    void aSummaryWithoutFrameCountsHasNoFramesLine() {
        String text = SubmitVideosCommand.describe(
                "broken.mp4",
                VideoSummary.newBuilder().setState(VideoSummary.State.FAILED).build());
        assertFalse(text.contains("frames decoded"), text);
    }
}
