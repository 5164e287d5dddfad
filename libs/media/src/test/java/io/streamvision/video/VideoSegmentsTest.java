package io.streamvision.video;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every container layout decodes from a path and from inline bytes, and decoding a video in time
 * ranges (segments) samples exactly the frames, with the same pixels, that one pass does. Videos
 * are written at test time by {@link SyntheticVideos}.
 */
class VideoSegmentsTest {

    private static final VideoLimits LIMITS = new VideoLimits(86_400, 4096, 2160, 100_000, 8 << 20);

    @TempDir
    Path dir;

    /** A frame reduced to what must match: index, time and a pixel hash. */
    record Seen(long index, long ptsMs, int pixels) {}

    @ParameterizedTest
    @EnumSource(SyntheticVideos.Container.class)
    void decodesEveryContainerLayoutByPathAndInline(SyntheticVideos.Container container) throws Exception {
        Path video = dir.resolve("v." + container.extension);
        SyntheticVideos.write(video, container, 96, 64, 10, 6, 2);
        VideoFrameReader reader = new VideoFrameReader(LIMITS);
        List<Seen> byPath = new ArrayList<>();
        VideoFrameReader.Summary s = reader.read(
                video.toString(),
                "file",
                new VideoFrameReader.Sampling(1, 2),
                0,
                Long.MAX_VALUE,
                f -> byPath.add(seen(f)));
        assertEquals(60, s.framesDecoded(), container + ": every frame decoded");
        assertEquals(12, byPath.size(), container + ": 2 frames per second over 6 s");
        assertTrue(s.endOfStream());
        List<Seen> inline = new ArrayList<>();
        reader.read(null, Files.readAllBytes(video), 1, 2, f -> inline.add(seen(f)));
        assertEquals(byPath, inline, container + ": inline bytes decode like the file");
    }

    @ParameterizedTest
    @EnumSource(
            value = SyntheticVideos.Container.class,
            names = {"MP4", "MPEG_TS", "WEBM"})
    void segmentsSampleTheSameFramesAsOnePass(SyntheticVideos.Container container) throws Exception {
        Path video = dir.resolve("long." + container.extension);
        SyntheticVideos.write(video, container, 64, 48, 25, 40, 2.4);
        VideoFrameReader reader = new VideoFrameReader(LIMITS);
        for (VideoFrameReader.Sampling sampling : List.of(
                new VideoFrameReader.Sampling(1, 1.5),
                new VideoFrameReader.Sampling(7, 0),
                new VideoFrameReader.Sampling(1, 1))) {
            List<Seen> whole = new ArrayList<>();
            VideoFrameReader.Summary all =
                    reader.read(video.toString(), "file", sampling, 0, Long.MAX_VALUE, f -> whole.add(seen(f)));
            List<Seen> pieces = new ArrayList<>();
            long decoded = 0;
            // Keyframes come every 2.4 s: 12,000 and 24,000 ms are also 1 and 1.5 fps boundaries, where a
            // range may start on the keyframe itself; 2,400 is not, and its range must look further
            // back (the frame before it shares its 1 fps bin).
            long[] bounds = {0, 2_400, 3_333, 10_000, 10_040, 12_000, 21_500, 24_000, 30_000};
            for (int i = 0; i < bounds.length; i++) {
                long end = i + 1 < bounds.length ? bounds[i + 1] : Long.MAX_VALUE;
                VideoFrameReader.Summary part =
                        reader.read(video.toString(), "file", sampling, bounds[i], end, f -> pieces.add(seen(f)));
                decoded += part.framesDecoded();
                assertEquals(end == Long.MAX_VALUE, part.endOfStream(), "only the last range reaches the end");
            }
            assertEquals(all.framesDecoded(), decoded, container + " " + sampling + ": each frame in one range");
            assertEquals(whole, pieces, container + " " + sampling + ": the same frames, once each, in order");
            assertFalse(whole.isEmpty());
        }
    }

    @ParameterizedTest
    @EnumSource(
            value = SyntheticVideos.Container.class,
            names = {"MP4", "MPEG_TS", "MKV"})
    void skippingUnsampledFramesSamplesTheSameFrames(SyntheticVideos.Container container) throws Exception {
        Path video = dir.resolve("b-frames." + container.extension);
        SyntheticVideos.write(video, container, 64, 48, 25, 24, 2.4, 2);
        assertSkippingChangesNothing(video.toString(), container.toString());
    }

    @org.junit.jupiter.api.Test
    void skippingUnsampledFramesOfH264SamplesTheSameFrames() throws Exception {
        // H.264 High profile with B-frames (x264's defaults), 20 s at 25 fps.
        Path video = VideoFrameReaderTest.VIDEO;
        assertSkippingChangesNothing(video.toString(), "H.264");
    }

    /**
     * Skipping the frames that the sampling cannot keep and nothing references leaves the sampled
     * frames as they were, in one pass and in ranges, while it does skip some.
     */
    private void assertSkippingChangesNothing(String video, String what) throws Exception {
        VideoFrameReader everyFrame = new VideoFrameReader(LIMITS, 0, VideoFrameReader.DEFAULT_FORMATS, false);
        // One decoder thread, as the service decodes: with frame threads nothing is skipped.
        VideoFrameReader skipping = new VideoFrameReader(LIMITS, 1, VideoFrameReader.DEFAULT_FORMATS, true);
        for (VideoFrameReader.Sampling sampling : List.of(
                new VideoFrameReader.Sampling(1, 1),
                new VideoFrameReader.Sampling(1, 2.5),
                new VideoFrameReader.Sampling(1, 12),
                new VideoFrameReader.Sampling(4, 0),
                new VideoFrameReader.Sampling(1, 25))) {
            String label = what + " " + sampling;
            List<Seen> expected = new ArrayList<>();
            VideoFrameReader.Summary all =
                    everyFrame.read(video, "file", sampling, 0, Long.MAX_VALUE, f -> expected.add(seen(f)));
            assertEquals(0, all.framesSkipped());
            List<Seen> whole = new ArrayList<>();
            VideoFrameReader.Summary fewer =
                    skipping.read(video, "file", sampling, 0, Long.MAX_VALUE, f -> whole.add(seen(f)));
            assertEquals(expected, whole, label + ": the same frames and pixels");
            assertEquals(all.framesDecoded(), fewer.framesInRange(), label + ": every frame decoded or skipped");
            if (sampling.targetFps() == 25) {
                assertEquals(0, fewer.framesSkipped(), label + ": every frame is sampled, none skipped");
            } else {
                assertTrue(
                        fewer.framesSkipped() > all.framesDecoded() / 5,
                        label + ": frames skipped " + fewer.framesSkipped() + " of " + all.framesDecoded());
            }
            List<Seen> pieces = new ArrayList<>();
            long inRanges = 0;
            long[] bounds = {0, 2_400, 3_333, 10_000, 12_000, 17_000};
            for (int i = 0; i < bounds.length; i++) {
                long end = i + 1 < bounds.length ? bounds[i + 1] : Long.MAX_VALUE;
                VideoFrameReader.Summary part =
                        skipping.read(video, "file", sampling, bounds[i], end, f -> pieces.add(seen(f)));
                inRanges += part.framesInRange();
            }
            assertEquals(expected, pieces, label + ": the same frames in ranges");
            assertEquals(all.framesDecoded(), inRanges, label + ": each frame in one range");
        }
    }

    private static Seen seen(VideoFrameReader.SampledFrame f) {
        return new Seen(f.frameIndex(), f.ptsMillis(), Arrays.hashCode(f.image().pixels()));
    }
}
