package io.streamvision.captioning;

import io.streamvision.kafka.Topics;
import io.streamvision.testing.ProcessCluster;
import io.streamvision.testing.ServiceProcess;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * The three packaged services as a deployment of several instances each on a cluster, the way a
 * team runs them: every instance with its own ports, Kafka Streams state folder and (default,
 * unique) transactional ids; instances of one service share its groups and application ids. Images
 * go to the sample classifier only and videos are cut into 4-second segments, so a test's work
 * stays small on a small machine. Instances can be started, stopped with SIGTERM, killed with
 * SIGKILL and frozen with SIGSTOP. Not thread-safe: one test drives it.
 */
final class ClusterDeployment implements AutoCloseable {

    enum Service {
        PREPROCESS("../preprocess"),
        SCORING("../scoring"),
        CAPTIONING(".");

        final String module;

        Service(String module) {
            this.module = module;
        }
    }

    /** One running instance: its process, ports and log. */
    record Instance(
            Service service, int number, Process process, int httpPort, int healthPort, int grpcPort, Path log) {

        long pid() {
            return process.pid();
        }
    }

    static final String MODEL = "fashion-cnn";
    static final int PARTITIONS = 6;
    static final String PASS_THROUGH = "vision.cluster.service.";

    private final TestBroker broker;
    private final String name;
    private final Topics topics;
    private final Map<String, Instance> instances = new TreeMap<>();
    private final List<Process> everyProcess = new ArrayList<>();
    private final Map<String, Path> stateDirs = new HashMap<>();

    ClusterDeployment(TestBroker broker, String name) {
        this.broker = broker;
        this.name = name;
        this.topics = new Topics(suffix());
    }

    String suffix() {
        return ".it-cluster-" + name;
    }

    Topics topics() {
        return topics;
    }

    /** The Kafka Streams application id of the results topology. */
    /** The deployment's name: the prefix of its groups and application ids. */
    String name() {
        return name;
    }

    String resultsApplicationId() {
        return name + "-results";
    }

    /** Starts instance {@code number} of {@code service} (again, if it ran before) without waiting. */
    Instance start(Service service, int number) throws Exception {
        return start(service, number, Map.of());
    }

    /** The same with settings of the test's own, which win. */
    Instance start(Service service, int number, Map<String, String> extra) throws Exception {
        int http = ServiceProcess.freePort();
        int health = service == Service.PREPROCESS ? http : ServiceProcess.freePort();
        int grpc = ServiceProcess.freePort();
        Map<String, String> own = new HashMap<>(Map.of(
                "vision.kafka.partitions", Integer.toString(PARTITIONS),
                "quarkus.http.port", Integer.toString(http),
                "quarkus.management.port", Integer.toString(health),
                "quarkus.grpc.server.port", Integer.toString(grpc),
                "kafka-streams.state.dir", stateDir(service, number).toString()));
        if (broker instanceof ProcessCluster cluster && cluster.size() > 1) {
            // Three Kafka JVMs share this machine's cores with the services: a transaction is dear,
            // so the Kafka Streams applications commit at Kafka Streams' own cadence, not every
            // 20 ms (docs/production.md, "Settings").
            own.put("kafka-streams.commit.interval.ms", "100");
        }
        String models = TestModels.dir().toString();
        switch (service) {
            case PREPROCESS ->
                own.putAll(Map.of(
                        "vision.preprocess.models-dir",
                        models,
                        "vision.preprocess.default-models",
                        MODEL,
                        "vision.preprocess.video.default-models",
                        MODEL,
                        "vision.preprocess.video.segment-seconds",
                        "4",
                        "vision.preprocess.video.kafka.group-id",
                        name + "-videos",
                        "vision.preprocess.video.work-dir",
                        stateDir(service, number).resolve("work").toString(),
                        "quarkus.kafka-streams.application-id",
                        name + "-preprocess"));
            case SCORING ->
                own.putAll(Map.of(
                        "vision.scoring.models-dir", models,
                        "vision.scoring.models", MODEL,
                        "vision.scoring.kafka.group-id", name + "-scoring"));
            case CAPTIONING ->
                own.putAll(Map.of(
                        "vision.captioning.models-dir",
                        models,
                        "vision.captioning.kafka.group-id",
                        name + "-captioning",
                        "quarkus.kafka-streams.application-id",
                        resultsApplicationId(),
                        "quarkus.kafka-streams.application-server",
                        "localhost:" + http,
                        "quarkus.grpc.clients.scoring.port",
                        Integer.toString(scoringGrpcPort())));
        }
        // Settings for a bench run: -Dvision.cluster.service.KEY=VALUE reaches every instance as KEY.
        System.getProperties().stringPropertyNames().stream()
                .filter(k -> k.startsWith(PASS_THROUGH))
                .forEach(k -> own.put(k.substring(PASS_THROUGH.length()), System.getProperty(k)));
        own.putAll(extra);
        Path log = Path.of("target/cluster-" + name + "-" + service.name().toLowerCase() + "-" + number + ".log");
        Process p = ServiceProcess.start(
                service.module, ServiceProcess.settings(broker.bootstrapServers(), suffix(), own), log);
        everyProcess.add(p);
        Instance instance = new Instance(service, number, p, http, health, grpc, log);
        instances.put(key(service, number), instance);
        return instance;
    }

    /** Starts instances and waits until each is ready. */
    void startReady(Service service, int... numbers) throws Exception {
        List<Instance> started = new ArrayList<>();
        for (int n : numbers) {
            started.add(start(service, n));
        }
        for (Instance i : started) {
            awaitReady(i);
        }
    }

    void awaitReady(Instance i) throws Exception {
        try {
            ServiceProcess.awaitReady(i.healthPort(), Duration.ofSeconds(240));
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; log " + i.log().toAbsolutePath(), e);
        }
    }

    Instance instance(Service service, int number) {
        Instance i = instances.get(key(service, number));
        if (i == null) {
            throw new IllegalArgumentException("no instance " + key(service, number));
        }
        return i;
    }

    /** The running instances of {@code service}. */
    List<Instance> running(Service service) {
        return instances.values().stream()
                .filter(i -> i.service() == service && i.process().isAlive())
                .toList();
    }

    /** SIGTERM, as Kubernetes stops a pod; returns once the process has ended. */
    void stop(Service service, int number) throws InterruptedException {
        Instance i = instance(service, number);
        i.process().destroy();
        if (!i.process().waitFor(60, TimeUnit.SECONDS)) {
            i.process().destroyForcibly().waitFor();
        }
    }

    /** SIGKILL; returns once the process is gone. */
    void kill(Service service, int number) throws InterruptedException {
        Instance i = instance(service, number);
        i.process().destroyForcibly();
        i.process().waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGSTOP ({@code freeze = true}) or SIGCONT: a long GC pause or a stalled node. */
    void freeze(Service service, int number, boolean freeze) throws Exception {
        long pid = instance(service, number).pid();
        // bash's own kill: no procps package needed.
        Process kill = new ProcessBuilder("bash", "-c", "kill " + (freeze ? "-STOP " : "-CONT ") + pid)
                .inheritIO()
                .start();
        if (kill.waitFor() != 0) {
            throw new IllegalStateException("kill " + (freeze ? "-STOP " : "-CONT ") + pid + " failed");
        }
    }

    private int scoringGrpcPort() {
        return instances.values().stream()
                .filter(i -> i.service() == Service.SCORING && i.process().isAlive())
                .mapToInt(Instance::grpcPort)
                .findFirst()
                .orElse(1);
    }

    private Path stateDir(Service service, int number) throws IOException {
        String key = key(service, number);
        Path dir = stateDirs.get(key);
        if (dir == null) {
            dir = Files.createTempDirectory("cluster-" + name + "-" + key + "-");
            stateDirs.put(key, dir);
        }
        return dir;
    }

    private static String key(Service service, int number) {
        return service.name().toLowerCase() + "-" + number;
    }

    @Override
    public void close() throws InterruptedException {
        for (Process p : everyProcess) {
            if (p.isAlive()) {
                // A frozen process ignores SIGTERM until it is thawed.
                try {
                    new ProcessBuilder("bash", "-c", "kill -CONT " + p.pid())
                            .start()
                            .waitFor();
                } catch (IOException ignored) {
                    // gone already
                }
                p.destroy();
            }
        }
        for (Process p : everyProcess) {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
            }
        }
    }
}
