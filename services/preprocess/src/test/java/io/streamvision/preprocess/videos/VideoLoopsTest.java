package io.streamvision.preprocess.videos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** How many segment loops an instance runs. */
class VideoLoopsTest {

    @Test
    void zeroMeansOnePerProcessorUpToTheBound() {
        assertEquals(1, VideoLoops.segmentLoops(0, 1));
        assertEquals(2, VideoLoops.segmentLoops(0, 2));
        assertEquals(VideoLoops.AUTO_SEGMENT_LOOPS_MAX, VideoLoops.segmentLoops(0, 64));
    }

    @Test
    void aConfiguredCountIsTakenAsItIs() {
        assertEquals(1, VideoLoops.segmentLoops(1, 16));
        assertEquals(8, VideoLoops.segmentLoops(8, 2));
    }

    @Test
    void aNegativeCountIsRefusedNamingTheKey() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VideoLoops.segmentLoops(-1, 2));
        assertTrue(e.getMessage().contains("vision.preprocess.video.segment-loops"), e.getMessage());
    }
}
