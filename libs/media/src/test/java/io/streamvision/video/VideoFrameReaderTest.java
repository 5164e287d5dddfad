package io.streamvision.video;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamvision.imaging.ImageRejectedException;
import io.streamvision.proto.vision.v1.ReasonCode;
import io.streamvision.testing.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Frames of the sample video (20 s, 25 fps, 320x240) sampled from a file URI and from bytes. */
class VideoFrameReaderTest {

    static final Path VIDEO = TestModels.dir().resolveSibling("samples").resolve("video.mp4");

    @Test
    void samplesEveryNthFrameFromAFileUri() throws Exception {
        List<VideoFrameReader.SampledFrame> frames = new ArrayList<>();
        VideoFrameReader.Summary summary =
                new VideoFrameReader(VideoLimits.DEFAULT).read(VIDEO.toUri().toString(), null, 25, 0, frames::add);
        assertEquals(500, summary.framesDecoded());
        assertEquals(20, summary.framesSampled());
        assertEquals(20, frames.size());
        assertEquals(0, frames.get(0).frameIndex());
        assertEquals(25, frames.get(1).frameIndex());
        assertEquals(1000, frames.get(1).ptsMillis(), 1);
        assertEquals(320, frames.get(0).image().width());
        assertEquals(240, frames.get(0).image().height());
        int bright = 0;
        for (byte b : frames.get(0).image().pixels()) {
            bright += (b & 0xFF) > 128 ? 1 : 0;
        }
        assertTrue(bright > 1000, "the item is visible on the black frame");
    }

    @Test
    void samplesAtATargetRateFromInlineBytes() throws Exception {
        List<VideoFrameReader.SampledFrame> frames = new ArrayList<>();
        new VideoFrameReader(VideoLimits.DEFAULT).read(null, Files.readAllBytes(VIDEO), 0, 2.0, frames::add);
        assertEquals(40, frames.size(), "2 frames per second over 20 s");
        long second = frames.get(1).ptsMillis();
        assertTrue(second >= 500 && second < 540, "first frame at or after 0.5 s (frames are 40 ms apart): " + second);
    }

    @Test
    void rejectsBrokenAndOversizedVideos() throws Exception {
        byte[] video = Files.readAllBytes(VIDEO);
        byte[] broken = Arrays.copyOf(video, 2000);
        ImageRejectedException e = assertThrows(
                ImageRejectedException.class,
                () -> new VideoFrameReader(VideoLimits.DEFAULT).read(null, broken, 1, 0, f -> {}));
        assertEquals(ReasonCode.VIDEO_DECODE_FAILED, e.reason());

        VideoLimits shortOnly = new VideoLimits(5, 4096, 2160, 10_000, 8 << 20);
        e = assertThrows(
                ImageRejectedException.class, () -> new VideoFrameReader(shortOnly).read(null, video, 1, 0, f -> {}));
        assertEquals(ReasonCode.DIMENSIONS_EXCEEDED, e.reason());

        VideoLimits fewFrames = new VideoLimits(3600, 4096, 2160, 10, 8 << 20);
        e = assertThrows(
                ImageRejectedException.class, () -> new VideoFrameReader(fewFrames).read(null, video, 1, 0, f -> {}));
        assertEquals(ReasonCode.DIMENSIONS_EXCEEDED, e.reason());
    }
}
