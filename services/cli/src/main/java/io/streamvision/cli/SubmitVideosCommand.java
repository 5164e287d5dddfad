package io.streamvision.cli;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.streamvision.kafka.Topics;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.DeadLetter;
import io.streamvision.proto.vision.v1.LabelSegment;
import io.streamvision.proto.vision.v1.ModelTimeline;
import io.streamvision.proto.vision.v1.VideoRequest;
import io.streamvision.proto.vision.v1.VideoSampled;
import io.streamvision.proto.vision.v1.VideoSummary;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code vision submit-videos}: sends videos to {@code vision.videos.v1}, shows a progress bar per
 * video and overall (frames scored, frames/s, ETA) from {@code vision.scores.v1} and {@code
 * vision.video-events.v1}, and prints each video's final summary from {@code
 * vision.video-summaries.v1}.
 */
@Command(
        name = "submit-videos",
        mixinStandardHelpOptions = true,
        description = "Classify the frames of videos through Kafka and print their label timelines.")
public class SubmitVideosCommand extends KafkaCommand {

    @Parameters(arity = "1..*", paramLabel = "VIDEO|DIR", description = "Video files, or directories of them.")
    List<Path> inputs;

    @Option(names = "--fps")
    Double fps;

    @Option(names = "--every")
    Integer every;

    @Option(
            names = {"-m", "--models"},
            split = ",")
    List<String> models = new ArrayList<>();

    @Option(names = "--repeat", defaultValue = "1")
    int repeat;

    @Option(names = "--inline-max-bytes", defaultValue = "900000")
    long inlineMaxBytes;

    @Option(names = "--timeout-s", defaultValue = "600")
    long timeoutS;

    @Option(names = "--json")
    boolean json;

    @Option(names = "--no-progress")
    boolean noProgress;

    /** What the command knows about one submitted video. */
    static final class Tracked {
        final String id;
        final Path file;
        final Set<String> scored = new HashSet<>();
        long sampled = -1;

        /** Frames sampled per segment, from the per-segment events; the last segment once known. */
        final Map<Integer, Long> segments = new HashMap<>();

        int finalSegment = -1;
        int models = 1;
        VideoSummary summary;
        String deadLetter;

        Tracked(String id, Path file) {
            this.id = id;
            this.file = file;
        }

        long frames() {
            return scored.size() / Math.max(1, models);
        }
    }

    @Override
    public Integer call() throws Exception {
        if (fps != null && every != null) {
            throw new CliException(ExitCodes.USAGE, "give --fps or --every, not both");
        }
        List<Path> files = Inputs.expand(inputs, Inputs.VIDEO_EXTENSIONS, "video");
        kafka.checkReachable();
        Topics topics = kafka.topics();
        PrintWriter out = out();
        PrintWriter err = err();
        String run = UUID.randomUUID().toString().substring(0, 8);
        Map<String, Tracked> videos = new LinkedHashMap<>();
        List<String> watched = List.of(
                topics.scores().name(),
                topics.videoEvents().name(),
                topics.videoSummaries().name(),
                topics.deadLetters().name());
        long start = System.nanoTime();
        try (TopicReader reader = new TopicReader(kafka.client(), watched, false);
                KafkaProducer<byte[], byte[]> producer = Producers.create(kafka.client())) {
            for (int copy = 0; copy < repeat; copy++) {
                for (Path file : files) {
                    String id = Inputs.stem(file) + "-" + run + (repeat > 1 ? "-" + copy : "");
                    videos.put(id, new Tracked(id, file));
                    producer.send(Producers.record(
                            topics.videos().name(), id, request(id, file).toByteArray()));
                }
            }
            producer.flush();
            err.printf(
                    "sent %d video(s) to %s%n", videos.size(), topics.videos().name());
            Progress progress = new Progress(err, !noProgress, start);
            long deadline = start + timeoutS * 1_000_000_000L;
            while (videos.values().stream().anyMatch(v -> v.summary == null) && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : reader.poll(Duration.ofMillis(200))) {
                    track(r, topics, videos);
                }
                progress.draw(videos.values());
            }
            progress.finish(videos.values());
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        long scored = videos.values().stream().mapToLong(Tracked::frames).sum();
        err.printf(
                "%d video(s), %d frames scored in %.1f s: %.1f frames/s end to end%n",
                videos.size(), scored, seconds, scored / seconds);
        int failed = 0;
        int missing = 0;
        for (Tracked v : videos.values()) {
            if (v.summary != null) {
                out.println(
                        json
                                ? new RecordPrinter(kafka.topics().videoSummaries()).json(v.summary.toByteArray())
                                : describe(v.file.getFileName() + " (" + v.id + ")", v.summary));
                failed += v.summary.getState() == VideoSummary.State.COMPLETE ? 0 : 1;
            } else {
                err.println(v.file
                        + " ("
                        + v.id
                        + "): no summary within "
                        + timeoutS
                        + " s ("
                        + v.frames()
                        + " frames scored"
                        + (v.deadLetter == null ? "" : "; dead letter: " + v.deadLetter)
                        + ")");
                missing++;
            }
        }
        out.flush();
        return missing > 0 ? ExitCodes.TIMED_OUT : failed > 0 ? ExitCodes.SOME_FAILED : ExitCodes.OK;
    }

    private VideoRequest request(String id, Path file) throws IOException {
        VideoRequest.Builder b = VideoRequest.newBuilder()
                .setVideoId(id)
                .addAllModels(models)
                .putAttributes("file", file.getFileName().toString());
        if (fps != null) {
            b.setTargetFps(fps);
        } else {
            b.setEveryNFrames(every == null ? 1 : every);
        }
        if (Files.size(file) <= inlineMaxBytes) {
            b.setVideo(ByteString.copyFrom(Inputs.read(file)));
        } else {
            b.setUri(file.toAbsolutePath().toUri().toString());
        }
        return b.build();
    }

    private static void track(ConsumerRecord<byte[], byte[]> r, Topics topics, Map<String, Tracked> videos)
            throws InvalidProtocolBufferException {
        if (r.topic().equals(topics.scores().name())) {
            Classification c = topics.scores().parse(r.value());
            Tracked v = videos.get(c.getVideoId());
            if (v != null) {
                v.scored.add(c.getModelName() + "/" + c.getFrameIndex());
            }
        } else if (r.topic().equals(topics.videoEvents().name())) {
            VideoSampled s = topics.videoEvents().parse(r.value());
            Tracked v = videos.get(s.getVideoId());
            if (v != null) {
                v.segments.put(s.getSegmentIndex(), s.getFramesSampled());
                if (s.getFinalSegment()) {
                    v.finalSegment =
                            v.finalSegment < 0 ? s.getSegmentIndex() : Math.min(v.finalSegment, s.getSegmentIndex());
                }
                // The total is known once every segment up to the final one reported.
                boolean all = v.finalSegment >= 0
                        && IntStream.rangeClosed(0, v.finalSegment).allMatch(v.segments::containsKey);
                v.sampled = all
                        ? v.segments.values().stream()
                                .mapToLong(Long::longValue)
                                .sum()
                        : -1;
                v.models = Math.max(1, s.getModelsCount());
            }
        } else if (r.topic().equals(topics.videoSummaries().name())) {
            VideoSummary s = topics.videoSummaries().parse(r.value());
            Tracked v = videos.get(s.getVideoId());
            if (v != null && s.getFinal()) {
                v.summary = s;
            }
        } else {
            DeadLetter d = topics.deadLetters().parse(r.value());
            Tracked v = videos.get(d.getRequestId());
            if (v != null && v.deadLetter == null) {
                // The FAILED summary follows; the dead letter is reported if it does not.
                v.deadLetter = d.getReason() + " at " + d.getStage() + ": " + d.getMessage();
            }
        }
    }

    /** A table row of the final summary with the timeline of its first model. */
    static String describe(String name, VideoSummary s) {
        StringBuilder b = new StringBuilder(name).append(": ").append(s.getState());
        if (s.getState() == VideoSummary.State.FAILED) {
            b.append(" (")
                    .append(s.getFailureReason())
                    .append(": ")
                    .append(s.getFailureMessage())
                    .append(')');
        }
        long frames = s.getFramesDecoded() + s.getFramesSkipped();
        if (frames > 0) {
            b.append(String.format(
                    "%n  %d of %d frames decoded (%d skipped: no sampled frame needed them)",
                    s.getFramesDecoded(), frames, s.getFramesSkipped()));
        }
        for (ModelTimeline t : s.getTimelinesList()) {
            b.append(String.format(
                    "%n  %s v%s: %d of %d frames scored, %.1f s of video, processed in %.1f s",
                    t.getModelName(),
                    t.getModelVersion(),
                    t.getFramesScored(),
                    s.getFramesSampled(),
                    s.getDurationMs() / 1000.0,
                    s.getProcessingMs() / 1000.0));
            b.append(String.format(
                    "%n    top labels: %s",
                    t.getTopLabelsList().stream()
                            .limit(3)
                            .map(l -> String.format("%s %.0f%%", l.getLabel(), 100 * l.getShare()))
                            .collect(Collectors.joining(", "))));
            for (LabelSegment seg : t.getSegmentsList()) {
                b.append(String.format(
                        "%n    %7.2f-%7.2f s  %-12s %4d frames  mean %.2f",
                        seg.getStartMs() / 1000.0,
                        seg.getEndMs() / 1000.0,
                        seg.getLabel(),
                        seg.getFrames(),
                        seg.getMeanConfidence()));
            }
        }
        return b.toString();
    }

    /**
     * Progress bars on the error stream: redrawn in place on a terminal, a line every 5 s
     * otherwise.
     */
    static final class Progress {
        private final PrintWriter err;
        private final boolean enabled;
        private final boolean terminal = System.console() != null;
        private final long start;
        private long lastDraw;
        private int lines;

        Progress(PrintWriter err, boolean enabled, long start) {
            this.err = err;
            this.enabled = enabled;
            this.start = start;
        }

        void draw(Collection<Tracked> videos) {
            long now = System.nanoTime();
            if (!enabled || now - lastDraw < (terminal ? 250_000_000L : 5_000_000_000L)) {
                return;
            }
            lastDraw = now;
            List<String> rows = new ArrayList<>();
            double seconds = Math.max(1e-3, (now - start) / 1e9);
            long done = 0;
            long total = 0;
            boolean totalKnown = true;
            for (Tracked v : videos) {
                done += v.frames();
                total += Math.max(v.sampled, v.frames());
                totalKnown &= v.sampled >= 0;
            }
            if (terminal && videos.size() <= 20) {
                for (Tracked v : videos) {
                    rows.add(row(
                            v.id,
                            v.frames(),
                            v.sampled,
                            v.summary != null ? v.summary.getState().name() : null,
                            seconds));
                }
            }
            rows.add(row("all " + videos.size() + " videos", done, totalKnown ? total : -1, null, seconds));
            if (terminal && lines > 0) {
                err.print("\033[" + lines + "F");
            }
            rows.forEach(r -> err.println(terminal ? r + "\033[K" : r));
            err.flush();
            lines = rows.size();
        }

        private static String row(String name, long done, long total, String state, double seconds) {
            double rate = done / seconds;
            int width = 30;
            int filled = total > 0 ? (int) Math.min(width, width * done / total) : 0;
            String bar = "#".repeat(filled) + ".".repeat(width - filled);
            String eta = state != null
                    ? state.toLowerCase()
                    : total >= 0 && rate > 0 ? String.format("ETA %.0f s", (total - done) / rate) : "ETA ?";
            return String.format(
                    "%-28s [%s] %6d/%s frames %7.1f f/s  %s",
                    name.length() > 28 ? name.substring(0, 28) : name,
                    bar,
                    done,
                    total >= 0 ? Long.toString(total) : "?",
                    rate,
                    eta);
        }

        void finish(Collection<Tracked> videos) {
            lastDraw = 0;
            draw(videos);
        }
    }
}
