package io.streamvision.captioning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.streamvision.imaging.ImageDecoder;
import io.streamvision.imaging.ImageLimits;
import io.streamvision.imaging.Resampler;
import io.streamvision.imaging.RgbImage;
import io.streamvision.kafka.Topics;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.ClassifyRequest;
import io.streamvision.proto.vision.v1.Detection;
import io.streamvision.proto.vision.v1.ImageRequest;
import io.streamvision.proto.vision.v1.ImageResult;
import io.streamvision.proto.vision.v1.ModelTimeline;
import io.streamvision.proto.vision.v1.ObjectInterval;
import io.streamvision.proto.vision.v1.ObjectTrack;
import io.streamvision.proto.vision.v1.VideoRequest;
import io.streamvision.proto.vision.v1.VideoSummary;
import io.streamvision.proto.vision.v1.VisionServiceGrpc;
import io.streamvision.testing.DetectionReference;
import io.streamvision.testing.KafkaBrokerExtension;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestBrokers;
import io.streamvision.testing.TestClients;
import io.streamvision.testing.TestModels;
import io.streamvision.testing.TopicCollector;
import io.streamvision.video.SyntheticVideos;
import io.streamvision.video.VideoFrameReader;
import io.streamvision.video.VideoLimits;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The real COCO detector through the packaged services as separate processes: the real
 * photographs of {@code samples/photos} sent through Kafka to the detector alone come back as
 * complete results (no caption was asked for) holding the model kit's reference detections, the cat
 * photograph as HEIC, AVIF and MPO gives the same cat, the cat, person and rocket photographs come
 * back out of fashion-cnn's and the caption model's domain (sample items in fashion-cnn's); and a
 * slideshow of four of them, sent as a video, gets the object timeline its frames imply: every
 * class the detector finds in a picture's frames (over the scoring service's Classify RPC) has an
 * interval over that picture's time, and every interval is of a class found in the frames it spans.
 */
@ExtendWith(KafkaBrokerExtension.class)
class PhotoDetectionProcessIT {

    private static final String SUFFIX = ".it-detect";
    private static final int EVERY = 5;
    private static final int FPS = 5;
    private static final double SECONDS_EACH = 3;
    private static final List<String> OUT_OF_DOMAIN_CHECK = List.of(
            "samples/photos/chelsea.jpg",
            "samples/photos/person.jpg",
            "samples/photos/rocket.jpg",
            "samples/items/8-bag-test18.png",
            "samples/items/7-sneaker-test9.png");
    private static final List<String> PHONE_FORMATS = List.of("chelsea.heic", "chelsea.avif", "chelsea.mpo");
    private static final List<String> SLIDES = List.of("dog.jpg", "horses.jpg", "chelsea.jpg", "motorcycle.jpg");

    @Test
    void photographsAndASlideshowGetTheDetectorsObjectsThroughKafka() throws Exception {
        TestBroker broker = TestBrokers.shared();
        Path root = TestModels.root();
        DetectionReference reference = DetectionReference.read(TestModels.dir().resolve("centernet/1"));
        Topics topics = new Topics(SUFFIX);
        Path video = slideshow(root, Files.createTempDirectory("slideshow-"));
        try (ThreeServices services = new ThreeServices(broker, SUFFIX, "it-detect", 18260, Map.of());
                TopicCollector results = broker.collect(topics.results().name());
                TopicCollector summaries =
                        broker.collect(topics.videoSummaries().name())) {
            List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
            for (DetectionReference.Image image : reference.images()) {
                String id = "photo-" + Path.of(image.file()).getFileName();
                records.add(new ProducerRecord<>(
                        topics.images().name(),
                        id.getBytes(StandardCharsets.UTF_8),
                        ImageRequest.newBuilder()
                                .setRequestId(id)
                                .setImage(ByteString.copyFrom(Files.readAllBytes(root.resolve(image.file()))))
                                .addModels("centernet")
                                .build()
                                .toByteArray()));
            }
            for (String file : OUT_OF_DOMAIN_CHECK) {
                records.add(new ProducerRecord<>(
                        topics.images().name(),
                        ("ood-" + file).getBytes(StandardCharsets.UTF_8),
                        ImageRequest.newBuilder()
                                .setRequestId("ood-" + file)
                                .setImage(ByteString.copyFrom(Files.readAllBytes(root.resolve(file))))
                                .addModels("fashion-cnn")
                                .addModels("caption-encoder")
                                .build()
                                .toByteArray()));
            }
            Path formats = root.resolve("libs/media/src/test/resources/phone-formats");
            for (String file : PHONE_FORMATS) {
                records.add(new ProducerRecord<>(
                        topics.images().name(),
                        file.getBytes(StandardCharsets.UTF_8),
                        ImageRequest.newBuilder()
                                .setRequestId(file)
                                .setImage(ByteString.copyFrom(Files.readAllBytes(formats.resolve(file))))
                                .addModels("centernet")
                                .build()
                                .toByteArray()));
            }
            records.add(new ProducerRecord<>(
                    topics.videos().name(),
                    "slideshow".getBytes(StandardCharsets.UTF_8),
                    VideoRequest.newBuilder()
                            .setVideoId("slideshow")
                            .setVideo(ByteString.copyFrom(Files.readAllBytes(video)))
                            .setEveryNFrames(EVERY)
                            .addModels("centernet")
                            .addModels("fashion-cnn")
                            .build()
                            .toByteArray()));
            TestClients.send(broker.bootstrapServers(), records);

            results.awaitAtLeast(
                    reference.images().size() + PHONE_FORMATS.size() + OUT_OF_DOMAIN_CHECK.size(),
                    Duration.ofSeconds(180));
            Map<String, ImageResult> byId = new HashMap<>();
            for (ConsumerRecord<byte[], byte[]> r : results.records()) {
                ImageResult result = topics.results().parse(r.value());
                assertEquals(null, byId.put(result.getRequestId(), result), "one result per image");
            }
            List<String> differences = new ArrayList<>();
            for (DetectionReference.Image image : reference.images()) {
                ImageResult result = byId.get("photo-" + Path.of(image.file()).getFileName());
                assertTrue(result != null && result.getComplete(), image.file() + ": " + result);
                assertFalse(result.hasCaption(), "only the detector was asked for");
                Classification objects = result.getClassifications(0);
                assertEquals("centernet", objects.getModelName());
                assertTrue(objects.getDetector());
                assertEquals(image.width(), objects.getImageWidth());
                List<DetectionReference.Found> found = found(objects);
                System.out.printf("[detect via Kafka] %-26s %s%n", image.file(), found);
                differences.addAll(reference.differences(image, found, 0.02f, 0.01f, 2f));
            }
            assertTrue(differences.isEmpty(), String.join("\n", differences));
            // The cat photograph as an iPhone (HEIC), an Android phone (AVIF) and a stereo camera (MPO)
            // save it: the same cat, the box within a few pixels.
            DetectionReference.Found cat = reference.images().stream()
                    .filter(i -> i.file().endsWith("chelsea.jpg"))
                    .findFirst()
                    .orElseThrow()
                    .detections()
                    .get(0);
            for (String file : PHONE_FORMATS) {
                ImageResult result = byId.get(file);
                assertTrue(result != null && result.getComplete(), file + ": " + result);
                List<DetectionReference.Found> found = found(result.getClassifications(0));
                System.out.printf("[detect via Kafka] %-26s %s%n", file, found);
                DetectionReference.Found first = found.get(0);
                assertEquals("cat", first.label(), file + ": " + found);
                assertTrue(
                        Math.abs(first.x1() - cat.x1()) < 5
                                && Math.abs(first.y1() - cat.y1()) < 5
                                && Math.abs(first.x2() - cat.x2()) < 5
                                && Math.abs(first.y2() - cat.y2()) < 5,
                        file + ": " + first + " against " + cat);
            }

            // The photographs are out of fashion-cnn's and the caption model's domain, the items in
            // fashion-cnn's.
            for (String file : OUT_OF_DOMAIN_CHECK) {
                ImageResult result = byId.get("ood-" + file);
                assertTrue(result != null && result.getComplete(), file + ": " + result);
                Classification labels = result.getClassifications(0);
                System.out.printf(
                        "[out of domain via Kafka] %-36s fashion-cnn %s (score %.4g), caption \"%s\" %s (score %.4g)%n",
                        file,
                        labels.getOutOfDomain() ? "OUT" : "in",
                        labels.getDomainScore(),
                        result.getCaption().getText(),
                        result.getCaption().getOutOfDomain() ? "OUT" : "in",
                        result.getCaption().getDomainScore());
                boolean photograph = file.startsWith("samples/photos/");
                assertEquals(photograph, labels.getOutOfDomain(), file + ": " + labels);
                assertTrue(labels.getDomainThreshold() > 0);
                if (photograph) {
                    assertTrue(result.getCaption().getOutOfDomain(), file + ": " + result.getCaption());
                }
            }

            VideoSummary summary = finalSummary(topics, summaries);
            assertEquals(VideoSummary.State.COMPLETE, summary.getState(), summary.toString());
            ModelTimeline timeline = summary.getTimelinesList().stream()
                    .filter(t -> t.getModelName().equals("centernet"))
                    .findFirst()
                    .orElseThrow();
            checkTimeline(timeline, expectedFrames(video, services));
            // fashion-cnn's timeline of the same photographs says they are out of its domain.
            ModelTimeline fashion = summary.getTimelinesList().stream()
                    .filter(t -> t.getModelName().equals("fashion-cnn"))
                    .findFirst()
                    .orElseThrow();
            System.out.printf(
                    "[out of domain via Kafka] slideshow: fashion-cnn %d of %d frames out of domain, %d segments%n",
                    fashion.getFramesOutOfDomain(), fashion.getFramesScored(), fashion.getSegmentsCount());
            assertTrue(
                    fashion.getFramesOutOfDomain() >= 0.9 * fashion.getFramesScored(),
                    "the slideshow's frames are photographs: " + fashion);
        }
    }

    /** Four photographs letterboxed into 480x360 pictures, each shown for three seconds. */
    private static Path slideshow(Path root, Path dir) throws Exception {
        ImageDecoder decoder = new ImageDecoder(ImageLimits.DEFAULT, 0);
        List<RgbImage> pictures = new ArrayList<>();
        for (String name : SLIDES) {
            RgbImage photo = decoder.decode(Files.readAllBytes(root.resolve("samples/photos/" + name)))
                    .toRgb();
            pictures.add(Resampler.resize(photo, 480, 360));
        }
        Path video = dir.resolve("slideshow.mp4");
        SyntheticVideos.slideshow(video, pictures, FPS, SECONDS_EACH);
        return video;
    }

    /** The objects the detector finds in each sampled frame, over Classify, by presentation time. */
    private static Map<Long, List<Detection>> expectedFrames(Path video, ThreeServices services) throws Exception {
        List<VideoFrameReader.SampledFrame> frames = new ArrayList<>();
        new VideoFrameReader(VideoLimits.DEFAULT).read(video.toUri().toString(), new byte[0], EVERY, 0, frames::add);
        ManagedChannel channel = ManagedChannelBuilder.forAddress("localhost", services.scoringGrpcPort())
                .usePlaintext()
                .maxInboundMessageSize(16 << 20)
                .build();
        try {
            VisionServiceGrpc.VisionServiceBlockingStub vision = VisionServiceGrpc.newBlockingStub(channel);
            Map<Long, List<Detection>> out = new java.util.TreeMap<>();
            for (VideoFrameReader.SampledFrame frame : frames) {
                Classification c = vision.classify(ClassifyRequest.newBuilder()
                                .setModelName("centernet")
                                .setImage(ByteString.copyFrom(png(frame.image())))
                                .build())
                        .getClassification();
                out.put(frame.ptsMillis(), c.getDetectionsList());
            }
            return out;
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static void checkTimeline(ModelTimeline timeline, Map<Long, List<Detection>> frames) {
        Map<Integer, ObjectTrack> tracks = new HashMap<>();
        timeline.getObjectsList().forEach(t -> tracks.put(t.getIndex(), t));
        System.out.println("[detect via Kafka] slideshow timeline: " + timeline.getObjectsList());
        long slot = Math.round(SECONDS_EACH * 1000);
        for (int s = 0; s < SLIDES.size(); s++) {
            long start = s * slot;
            long end = start + slot;
            // Classes found clearly above the threshold in every sampled frame of this picture.
            Set<Integer> everywhere = null;
            for (Map.Entry<Long, List<Detection>> f : frames.entrySet()) {
                if (f.getKey() < start || f.getKey() >= end) {
                    continue;
                }
                Set<Integer> here = new HashSet<>();
                f.getValue().stream().filter(d -> d.getScore() >= 0.35f).forEach(d -> here.add(d.getIndex()));
                if (everywhere == null) {
                    everywhere = here;
                } else {
                    everywhere.retainAll(here);
                }
            }
            assertTrue(everywhere != null && !everywhere.isEmpty(), SLIDES.get(s) + " holds objects: " + frames);
            for (int cls : everywhere) {
                ObjectTrack track = tracks.get(cls);
                assertTrue(track != null, SLIDES.get(s) + ": class " + cls + " has a track");
                long middle = start + slot / 2;
                assertTrue(
                        track.getIntervalsList().stream()
                                .anyMatch(i -> i.getStartMs() <= middle && i.getEndMs() > middle),
                        SLIDES.get(s) + ": " + track.getLabel() + " present around " + middle + " ms: " + track);
            }
        }
        for (ObjectTrack track : timeline.getObjectsList()) {
            for (ObjectInterval interval : track.getIntervalsList()) {
                boolean seen = frames.entrySet().stream()
                        .filter(f -> f.getKey() >= interval.getStartMs() && f.getKey() < interval.getEndMs())
                        .anyMatch(f -> f.getValue().stream().anyMatch(d -> d.getIndex() == track.getIndex()));
                assertTrue(seen, track.getLabel() + " " + interval + " is in the frames it spans");
            }
        }
    }

    private static VideoSummary finalSummary(Topics topics, TopicCollector summaries) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (System.nanoTime() < deadline) {
            for (ConsumerRecord<byte[], byte[]> r : summaries.records()) {
                VideoSummary s = topics.videoSummaries().parse(r.value());
                if (s.getVideoId().equals("slideshow") && s.getFinal()) {
                    return s;
                }
            }
            Thread.sleep(250);
        }
        throw new AssertionError("no final summary of the slideshow within 180 s");
    }

    private static byte[] png(RgbImage image) throws Exception {
        java.awt.image.BufferedImage out = new java.awt.image.BufferedImage(
                image.width(), image.height(), java.awt.image.BufferedImage.TYPE_3BYTE_BGR);
        byte[] px = image.pixels();
        for (int y = 0; y < image.height(); y++) {
            for (int x = 0; x < image.width(); x++) {
                int i = (y * image.width() + x) * 3;
                out.setRGB(x, y, (px[i] & 0xff) << 16 | (px[i + 1] & 0xff) << 8 | (px[i + 2] & 0xff));
            }
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        javax.imageio.ImageIO.write(out, "png", bytes);
        return bytes.toByteArray();
    }

    private static List<DetectionReference.Found> found(Classification c) {
        return c.getDetectionsList().stream()
                .map(d -> new DetectionReference.Found(
                        d.getIndex(),
                        d.getLabel(),
                        d.getScore(),
                        d.getBox().getXMin(),
                        d.getBox().getYMin(),
                        d.getBox().getXMax(),
                        d.getBox().getYMax()))
                .toList();
    }
}
