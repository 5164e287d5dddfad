package io.streamvision.captioning;

import static io.streamvision.captioning.ClusterDeployment.Service.CAPTIONING;
import static io.streamvision.captioning.ClusterDeployment.Service.PREPROCESS;
import static io.streamvision.captioning.ClusterDeployment.Service.SCORING;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamvision.captioning.ClusterDeployment.Instance;
import io.streamvision.captioning.ClusterDeployment.Service;
import io.streamvision.kafka.Topics;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.Label;
import io.streamvision.proto.vision.v1.VideoSampled;
import io.streamvision.proto.vision.v1.VideoSummary;
import io.streamvision.testing.ProcessCluster;
import io.streamvision.testing.ServiceProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The pipeline on a replicated cluster (three Kafka processes, replication 3, min ISR 2) with
 * several instances of the services, through the faults of a first week in production: a lost
 * broker (the one leading the most partitions; the transaction coordinator of the scoring loop, and
 * that of preprocess's Kafka Streams application),
 * scaling while records flow, a rolling restart of every service, an instance frozen past its
 * session timeout, and a captioning instance killed while it holds video stores. Each test sends
 * images at a steady rate and a multi-segment video, and ends by counting every output
 * read_committed ({@link ClusterWorkload#verify}): nothing lost, nothing twice. Each prints what the
 * fault cost. {@code bench/cluster.sh} runs them with more images.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterFaultsProcessIT {

    private ProcessCluster cluster;

    @BeforeAll
    void startCluster() {
        cluster = ProcessCluster.start(3);
    }

    @AfterAll
    void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    /** One instance of each service. */
    private ClusterDeployment oneOfEach(String name) throws Exception {
        return oneOfEach(cluster, name);
    }

    private static ClusterDeployment oneOfEach(ProcessCluster on, String name) throws Exception {
        ClusterDeployment d = new ClusterDeployment(on, name);
        d.startReady(SCORING, 1);
        d.startReady(PREPROCESS, 1);
        d.startReady(CAPTIONING, 1);
        return d;
    }

    private static List<String> pipelineTopics(Topics t) {
        return List.of(
                t.images().name(),
                t.tensors(ClusterDeployment.MODEL).name(),
                t.scores().name(),
                t.results().name(),
                t.videoSegments().name());
    }

    @Test
    void killTheBrokerLeadingTheMostPartitions() throws Exception {
        try (ClusterDeployment d = oneOfEach("leader");
                ClusterWorkload work = new ClusterWorkload(cluster, d)) {
            work.start();
            work.awaitSent(ClusterWorkload.IMAGES / 3);
            int node = cluster.leaderOfMostPartitions(pipelineTopics(d.topics()));
            long killed = System.currentTimeMillis();
            cluster.kill(node);
            System.out.printf("[cluster IT] leader: killed node %d (leads the most pipeline partitions)%n", node);
            work.awaitFed();
            long restarted = System.currentTimeMillis();
            cluster.restart(node);
            System.out.printf(
                    "[cluster IT] leader: node %d down for %.1f s, back in %.1f s%n",
                    node, (restarted - killed) / 1000.0, (System.currentTimeMillis() - restarted) / 1000.0);
            work.verify("leader", killed, restarted);
        }
    }

    @Test
    void killTheTransactionCoordinatorOfTheScoringLoop() throws Exception {
        killTheTransactionCoordinator("coordinator", d -> transactionalId(d.instance(SCORING, 1)));
    }

    /**
     * The commit in flight when its coordinator goes sometimes fails with a fatal {@code
     * InvalidTxnStateException}; the stream thread is then replaced in the process (ADR 22), so the
     * same preprocess instance goes on without a restart.
     */
    @Test
    void killTheTransactionCoordinatorOfTheImagesApplication() throws Exception {
        killTheTransactionCoordinator("images-coordinator", d -> streamsTransactionalId(d.name() + "-preprocess-"));
    }

    private void killTheTransactionCoordinator(String name, TransactionalIdOf transactionalIdOf) throws Exception {
        try (ClusterDeployment d = oneOfEach(name);
                ClusterWorkload work = new ClusterWorkload(cluster, d)) {
            work.start();
            work.awaitSent(ClusterWorkload.IMAGES / 3);
            String transactionalId = transactionalIdOf.of(d);
            int node = cluster.transactionCoordinator(transactionalId);
            long killed = System.currentTimeMillis();
            cluster.kill(node);
            System.out.printf("[cluster IT] %s: killed node %d, coordinator of %s%n", name, node, transactionalId);
            work.awaitFed();
            long restarted = System.currentTimeMillis();
            cluster.restart(node);
            work.verify(name, killed, restarted);
            for (Service service : Service.values()) {
                assertTrue(d.instance(service, 1).process().isAlive(), service + " went on in the same process");
            }
            String preprocessLog = Files.readString(d.instance(PREPROCESS, 1).log());
            System.out.printf(
                    "[cluster IT] %s: stream threads replaced in preprocess: %d%n",
                    name, preprocessLog.split("A stream thread died of", -1).length - 1);
        }
    }

    @FunctionalInterface
    private interface TransactionalIdOf {
        String of(ClusterDeployment d) throws Exception;
    }

    /** The transactional id of a Kafka Streams application's producer, found among the cluster's transactions. */
    private String streamsTransactionalId(String prefix) throws Exception {
        try (var admin = cluster.admin()) {
            return admin.listTransactions().all().get(30, java.util.concurrent.TimeUnit.SECONDS).stream()
                    .map(t -> t.transactionalId())
                    .filter(id -> id.startsWith(prefix))
                    .findFirst()
                    .orElseThrow(() -> new AssertionError("no transaction of " + prefix + "*"));
        }
    }

    @Test
    void scaleScoringAndPreprocessWhileRecordsFlow() throws Exception {
        // Long enough a stream that scaling up and down both happen while images are sent.
        try (ClusterDeployment d = oneOfEach("scale");
                ClusterWorkload work =
                        new ClusterWorkload(cluster, d, 5 * ClusterWorkload.IMAGES, ClusterWorkload.RATE)) {
            work.start();
            work.awaitSent(ClusterWorkload.IMAGES / 2);
            long from = System.currentTimeMillis();
            d.startReady(SCORING, 2, 3);
            d.startReady(PREPROCESS, 2);
            awaitPartitions(d, SCORING, "kafka-partitions");
            System.out.printf(
                    "[cluster IT] scale: scoring 1 -> 3 and preprocess 1 -> 2 done at %d images sent%n",
                    work.sentCount());
            d.stop(SCORING, 3);
            d.stop(SCORING, 2);
            d.stop(PREPROCESS, 2);
            System.out.printf("[cluster IT] scale: back to one of each at %d images sent%n", work.sentCount());
            work.verify("scale", from, System.currentTimeMillis());
        }
    }

    @Test
    void rollingRestartOfEveryServiceUnderLoad() throws Exception {
        ClusterDeployment d = new ClusterDeployment(cluster, "roll");
        // Long enough a stream that every instance is replaced while images are sent.
        try (d;
                ClusterWorkload work =
                        new ClusterWorkload(cluster, d, 4 * ClusterWorkload.IMAGES, ClusterWorkload.RATE)) {
            d.startReady(SCORING, 1, 2);
            d.startReady(PREPROCESS, 1, 2);
            d.startReady(CAPTIONING, 1, 2);
            work.start();
            work.awaitSent(ClusterWorkload.IMAGES / 5);
            long from = System.currentTimeMillis();
            for (Service s : new Service[] {PREPROCESS, SCORING, CAPTIONING}) {
                for (int n = 1; n <= 2; n++) {
                    long t = System.nanoTime();
                    d.stop(s, n);
                    d.startReady(s, n);
                    System.out.printf(
                            "[cluster IT] roll: %s-%d replaced in %.1f s%n",
                            s.name().toLowerCase(), n, (System.nanoTime() - t) / 1e9);
                }
            }
            System.out.printf("[cluster IT] roll: every instance replaced at %d images sent%n", work.sentCount());
            work.verify("roll", from, System.currentTimeMillis());
        }
    }

    @Test
    void aScoringInstanceFrozenPastItsSessionTimeoutIsFencedAndLosesNothing() throws Exception {
        ClusterDeployment d = new ClusterDeployment(cluster, "frozen");
        try (d;
                ClusterWorkload work = new ClusterWorkload(cluster, d)) {
            d.startReady(SCORING, 1, 2);
            d.startReady(PREPROCESS, 1);
            d.startReady(CAPTIONING, 1);
            awaitPartitions(d, SCORING, "kafka-partitions");
            work.start();
            work.awaitSent(ClusterWorkload.IMAGES / 3);
            long frozen = System.currentTimeMillis();
            d.freeze(SCORING, 2, true);
            // The session timeout of the loops is 10 s: frozen well past it, mid-transaction.
            Thread.sleep(20_000);
            d.freeze(SCORING, 2, false);
            long thawed = System.currentTimeMillis();
            System.out.println("[cluster IT] frozen: scoring-2 was stopped (SIGSTOP) for 20 s, then continued");
            ClusterWorkload.Figures figures = work.verify("frozen", frozen, thawed);
            Instance zombie = d.instance(SCORING, 2);
            String log = Files.readString(zombie.log());
            assertTrue(zombie.process().isAlive(), "the thawed instance rejoined instead of dying");
            // GET fails unless it answers 200: the zombie was fenced by generation, not by
            // transactional id, so it rejoins and stays live.
            ServiceProcess.get(zombie.healthPort(), "/q/health/live");
            System.out.printf(
                    "[cluster IT] frozen: the thawed instance %s%n",
                    log.contains("abort") || log.contains("Abort") || log.contains("rewind")
                            ? "aborted its open transaction and rejoined"
                            : "rejoined");
            assertTrue(figures.longestGapMs() < 60_000, "the other instance took over: " + figures);
        }
    }

    @Test
    void killACaptioningInstanceHoldingVideoStores() throws Exception {
        ClusterDeployment d = new ClusterDeployment(cluster, "standby");
        try (d;
                ClusterWorkload work = new ClusterWorkload(cluster, d)) {
            d.startReady(SCORING, 1);
            d.startReady(PREPROCESS, 1);
            d.startReady(CAPTIONING, 1, 2);
            work.start();
            work.awaitFed();
            awaitVideoComplete(d);
            Instance owner = null;
            Instance other = null;
            for (Instance i : d.running(CAPTIONING)) {
                if (get(i.httpPort(), "/videos/" + ClusterWorkload.VIDEO_ID + "?local=true")
                                .statusCode()
                        == 200) {
                    owner = i;
                } else {
                    other = i;
                }
            }
            assertTrue(owner != null && other != null, "one instance owns the video, the other does not");
            long standbyDeadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            int standbyStatus = 0;
            while (System.nanoTime() < standbyDeadline && standbyStatus != 200) {
                standbyStatus = get(
                                other.httpPort(), "/videos/" + ClusterWorkload.VIDEO_ID + "?local=true&standby=true")
                        .statusCode();
                Thread.sleep(250);
            }
            assertEquals(200, standbyStatus, "the other instance keeps a standby copy of the video's stores");

            long killed = System.nanoTime();
            d.kill(CAPTIONING, owner.number());
            int answered = 0;
            int stale = 0;
            int unavailable = 0;
            double firstFresh = -1;
            long until = System.nanoTime() + Duration.ofSeconds(40).toNanos();
            while (System.nanoTime() < until) {
                HttpResponse<byte[]> r = getProtobuf(other.httpPort(), "/videos/" + ClusterWorkload.VIDEO_ID);
                if (r.statusCode() == 200) {
                    VideoSummary s = VideoSummary.parseFrom(r.body());
                    assertEquals(VideoSummary.State.COMPLETE, s.getState(), "the answer is the final summary");
                    answered++;
                    if (s.getStale()) {
                        stale++;
                    } else if (firstFresh < 0) {
                        firstFresh = (System.nanoTime() - killed) / 1e9;
                    }
                } else {
                    unavailable++;
                }
                Thread.sleep(200);
            }
            System.out.printf(
                    "[cluster IT] standby: after kill -9 of the owner, %d queries answered (%d from the standby,"
                            + " marked stale), %d unavailable; the survivor answers as owner %.1f s after the kill%n",
                    answered, stale, unavailable, firstFresh);
            assertTrue(firstFresh > 0, "the survivor becomes the owner");
            assertTrue(answered > unavailable, "queries keep being answered: " + answered + " vs " + unavailable);
            work.verify("standby", 0, 0);
        }
    }

    /**
     * Not a check but the figures beside the fault tests: the same work with no fault on this
     * three-broker cluster (replication 3, min ISR 2) and on one broker (replication 1), in one run
     * on one machine: at a steady rate (latency) and all at once (throughput).
     */
    @Test
    @EnabledIfSystemProperty(
            named = "vision.cluster.baseline",
            matches = "true",
            disabledReason = "a benchmark that prints figures, run by bench/cluster.sh")
    void steadyAndBurstOnThreeBrokersBesideOne() throws Exception {
        ClusterWorkload.Figures steady3 = baseline(cluster, "base3-steady", ClusterWorkload.RATE);
        ClusterWorkload.Figures burst3 = baseline(cluster, "base3-burst", 0);
        ClusterWorkload.Figures steady1;
        ClusterWorkload.Figures burst1;
        try (ProcessCluster one = ProcessCluster.start(1)) {
            steady1 = baseline(one, "base1-steady", ClusterWorkload.RATE);
            burst1 = baseline(one, "base1-burst", 0);
        }
        System.out.printf(
                "[cluster IT] baseline, %d images and one video (%d images/s steady; all at once for the burst):%n"
                        + "| cluster | steady p50 ms | steady p99 ms | burst images/s | burst p50 ms |%n"
                        + "|---|---|---|---|---|%n"
                        + "| 3 brokers, replication 3, min ISR 2 | %.0f | %.0f | %.1f | %.0f |%n"
                        + "| 1 broker, replication 1 | %.0f | %.0f | %.1f | %.0f |%n",
                ClusterWorkload.IMAGES,
                ClusterWorkload.RATE,
                steady3.p50Ms(),
                steady3.p99Ms(),
                burst3.imagesPerSecond(),
                burst3.p50Ms(),
                steady1.p50Ms(),
                steady1.p99Ms(),
                burst1.imagesPerSecond(),
                burst1.p50Ms());
    }

    /**
     * Not a check but a figure: how long the video stores of a captioning instance that died take
     * to be served again by the survivor, with a standby copy and without one, for a store of
     * {@code vision.cluster.videos} videos (2,000 by default) of 20 scored frames each.
     */
    @Test
    @EnabledIfSystemProperty(
            named = "vision.cluster.baseline",
            matches = "true",
            disabledReason = "a benchmark that prints figures, run by bench/cluster.sh")
    void restorationOfALargeVideoStoreWithAndWithoutAStandby() throws Exception {
        int videos = Integer.getInteger("vision.cluster.videos", 2000);
        for (int standby : new int[] {1, 0}) {
            ClusterDeployment d = new ClusterDeployment(cluster, "restore-" + standby);
            try (d;
                    var summaries = cluster.collect(d.topics().videoSummaries().name());
                    var producer = cluster.producer()) {
                Map<String, String> settings = Map.of("vision.captioning.standby-replicas", Integer.toString(standby));
                d.start(CAPTIONING, 1, settings);
                d.start(CAPTIONING, 2, settings);
                d.awaitReady(d.instance(CAPTIONING, 1));
                d.awaitReady(d.instance(CAPTIONING, 2));
                long sent = System.nanoTime();
                for (int v = 0; v < videos; v++) {
                    String id = "v-" + v;
                    byte[] key = id.getBytes(StandardCharsets.UTF_8);
                    for (int f = 0; f < 20; f++) {
                        producer.send(new ProducerRecord<>(
                                d.topics().scores().name(),
                                key,
                                Classification.newBuilder()
                                        .setRequestId(id + "/" + f)
                                        .setVideoId(id)
                                        .setModelName(ClusterDeployment.MODEL)
                                        .setModelVersion("1")
                                        .setFrameIndex(f)
                                        .setPtsMs(f * 40L)
                                        .addLabels(Label.newBuilder()
                                                .setLabel("class-" + (f / 5))
                                                .setIndex(f / 5)
                                                .setProbability(0.9f))
                                        .build()
                                        .toByteArray()));
                    }
                    producer.send(new ProducerRecord<>(
                            d.topics().videoEvents().name(),
                            key,
                            VideoSampled.newBuilder()
                                    .setVideoId(id)
                                    .setSegmentIndex(0)
                                    .setFinalSegment(true)
                                    .setFramesSampled(20)
                                    .setFramesDecoded(20)
                                    .setFrameRate(25)
                                    .addModels(ClusterDeployment.MODEL)
                                    .build()
                                    .toByteArray()));
                }
                producer.flush();
                long deadline = System.nanoTime() + Duration.ofSeconds(600).toNanos();
                while (finals(summaries) < videos && System.nanoTime() < deadline) {
                    Thread.sleep(500);
                }
                assertEquals(videos, finals(summaries), "every video summarised");
                double aggregated = (System.nanoTime() - sent) / 1e9;
                Instance first = d.instance(CAPTIONING, 1);
                Instance second = d.instance(CAPTIONING, 2);
                String owned = null;
                for (int v = 0; v < videos && owned == null; v++) {
                    if (get(first.httpPort(), "/videos/v-" + v + "?local=true").statusCode() == 200) {
                        owned = "v-" + v;
                    }
                }
                assertTrue(owned != null, "instance 1 owns some videos");
                Thread.sleep(5000);
                long killed = System.nanoTime();
                d.kill(CAPTIONING, 1);
                int stale = 0;
                int unavailable = 0;
                double fresh = -1;
                while (fresh < 0
                        && System.nanoTime() - killed < Duration.ofSeconds(300).toNanos()) {
                    HttpResponse<byte[]> r = getProtobuf(second.httpPort(), "/videos/" + owned);
                    if (r.statusCode() == 200
                            && !VideoSummary.parseFrom(r.body()).getStale()) {
                        fresh = (System.nanoTime() - killed) / 1e9;
                    } else if (r.statusCode() == 200) {
                        stale++;
                    } else {
                        unavailable++;
                    }
                    Thread.sleep(100);
                }
                System.out.printf(
                        "[cluster IT] restoration, %d videos of 20 frames (aggregated in %.1f s), standby replicas %d:"
                                + " the survivor answers as owner %.1f s after kill -9 of the owner; meanwhile %d"
                                + " answers from the standby, %d unavailable%n",
                        videos, aggregated, standby, fresh, stale, unavailable);
            }
        }
    }

    private static long finals(io.streamvision.testing.TopicCollector summaries) throws Exception {
        long n = 0;
        for (var r : summaries.records()) {
            if (VideoSummary.parseFrom(r.value()).getFinal()) {
                n++;
            }
        }
        return n;
    }

    private static ClusterWorkload.Figures baseline(ProcessCluster on, String name, int rate) throws Exception {
        try (ClusterDeployment d = oneOfEach(on, name);
                ClusterWorkload work = new ClusterWorkload(on, d, ClusterWorkload.IMAGES, rate)) {
            work.start();
            return work.verify(name, 0, 0);
        }
    }

    private static void awaitVideoComplete(ClusterDeployment d) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(240).toNanos();
        Instance any = d.running(CAPTIONING).get(0);
        while (System.nanoTime() < deadline) {
            HttpResponse<byte[]> r = getProtobuf(any.httpPort(), "/videos/" + ClusterWorkload.VIDEO_ID);
            if (r.statusCode() == 200 && VideoSummary.parseFrom(r.body()).getFinal()) {
                return;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("the video did not complete within 240 s");
    }

    private static void awaitPartitions(ClusterDeployment d, Service s, String key) throws Exception {
        int[] ports = d.running(s).stream().mapToInt(Instance::healthPort).toArray();
        assertTrue(
                ServiceProcess.awaitReadinessValues(key, Duration.ofSeconds(90), ports),
                "every " + s.name().toLowerCase() + " instance holds partitions");
    }

    private static String transactionalId(Instance i) throws Exception {
        var m = java.util.regex.Pattern.compile("with transactional id (\\S+)").matcher(Files.readString(i.log()));
        assertTrue(m.find(), "the loop logs its transactional id");
        return m.group(1);
    }

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static HttpResponse<String> get(int port, String path) throws Exception {
        return HTTP.send(
                HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                        .timeout(Duration.ofSeconds(10))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<byte[]> getProtobuf(int port, String path) throws Exception {
        return HTTP.send(
                HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                        .header("Accept", "application/x-protobuf")
                        .timeout(Duration.ofSeconds(10))
                        .build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }
}
