package io.streamvision.testing;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.StringJoiner;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;

/**
 * A replicated Apache Kafka cluster of separate processes: {@code nodes} combined broker and KRaft
 * controller JVMs (as {@code deploy/local/kafka.sh start --brokers N} runs them) on loopback ports,
 * with replication min(3, N) and {@code min.insync.replicas} 2 for the internal topics and as the
 * default for new ones. Each node can be killed with SIGKILL, stopped with SIGTERM and started
 * again on its own data, so tests lose a broker the way a machine does. Not thread-safe: one test
 * drives it.
 */
public final class ProcessCluster implements TestBroker {

    private final Path dir;
    private final int[] clientPorts;
    private final int[] controllerPorts;
    private final Process[] processes;
    private final String classPath = classPath();

    private ProcessCluster(Path dir, int nodes) throws IOException {
        this.dir = dir;
        this.clientPorts = new int[nodes];
        this.controllerPorts = new int[nodes];
        this.processes = new Process[nodes];
        for (int i = 0; i < nodes; i++) {
            clientPorts[i] = ServiceProcess.freePort();
            controllerPorts[i] = ServiceProcess.freePort();
        }
    }

    /** Formats and starts {@code nodes} nodes and waits until every one is a live broker. */
    public static ProcessCluster start(int nodes) {
        try {
            long started = System.nanoTime();
            ProcessCluster cluster = new ProcessCluster(Files.createTempDirectory("vision-kafka-cluster-"), nodes);
            cluster.format();
            for (int node = 1; node <= nodes; node++) {
                cluster.launch(node);
            }
            cluster.awaitBrokers(nodes, Duration.ofSeconds(180));
            System.out.printf(
                    "[test cluster] %s, started in %d ms%n",
                    cluster.describe(), (System.nanoTime() - started) / 1_000_000);
            return cluster;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * The class path the nodes start with: this JVM's, or where the code runs in a class loader of
     * its own (a benchmark under {@code exec:java}, whose JVM's class path is Maven's), that
     * loader's.
     */
    private static String classPath() {
        List<String> entries = new ArrayList<>();
        for (String entry : callerClassPath()) {
            // Quarkus's bootstrap jars install its initial log configurator, which enables every
            // level (and buffers the records) until a Quarkus application configures logging: in a
            // broker, never. A broker built every trace and debug message it never printed.
            String name = Path.of(entry).getFileName().toString();
            if (!name.startsWith("quarkus-bootstrap-runner") && !name.startsWith("quarkus-ide-launcher")) {
                entries.add(entry);
            }
        }
        return String.join(File.pathSeparator, entries);
    }

    /** The class path of the code that starts the cluster. */
    private static List<String> callerClassPath() {
        List<String> entries = new ArrayList<>();
        for (ClassLoader c = Thread.currentThread().getContextClassLoader(); c != null; c = c.getParent()) {
            if (c instanceof URLClassLoader loader) {
                for (URL url : loader.getURLs()) {
                    try {
                        entries.add(Path.of(url.toURI()).toString());
                    } catch (URISyntaxException | IllegalArgumentException e) {
                        // not a file: a node could not load from it either
                    }
                }
            }
        }
        return entries.isEmpty() ? List.of(System.getProperty("java.class.path").split(File.pathSeparator)) : entries;
    }

    /**
     * JVM options for the nodes' logging: where JBoss LogManager is their SLF4J backend (the
     * services' test class paths), INFO to standard output, which goes to {@code node-<n>.log}.
     */
    private List<String> loggingOptions() throws IOException {
        if (!classPath.contains("jboss-logmanager")) {
            return List.of();
        }
        Path config = dir.resolve("logging.properties");
        if (Files.exists(config)) { // written at the first launch; restarts reuse it
            return options(config);
        }
        Files.writeString(
                config,
                String.join(
                        "\n",
                        "logger.level=INFO",
                        "logger.handlers=OUT",
                        "loggers=state.change.logger",
                        "logger.state.change.logger.level=WARN",
                        "handler.OUT=org.jboss.logmanager.handlers.ConsoleHandler",
                        "handler.OUT.properties=target",
                        "handler.OUT.target=SYSTEM_OUT",
                        "handler.OUT.formatter=PATTERN",
                        "formatter.PATTERN=org.jboss.logmanager.formatters.PatternFormatter",
                        "formatter.PATTERN.properties=pattern",
                        "formatter.PATTERN.pattern=[%d] %p %s%e (%c)%n",
                        ""));
        return options(config);
    }

    private static List<String> options(Path loggingConfig) {
        return List.of(
                "-Djava.util.logging.manager=org.jboss.logmanager.LogManager",
                "-Dlogging.configuration=" + loggingConfig.toUri());
    }

    /** Node {@code node}'s log (1-based): its standard output and error. */
    public Path log(int node) {
        return dir.resolve("node-" + node + ".log");
    }

    /** The operating system's id of node {@code node}'s process (1-based), for CPU accounting. */
    public long pid(int node) {
        return processes[node - 1].pid();
    }

    /** Number of nodes. */
    public int size() {
        return processes.length;
    }

    @Override
    public String bootstrapServers() {
        StringJoiner list = new StringJoiner(",");
        for (int port : clientPorts) {
            list.add("127.0.0.1:" + port);
        }
        return list.toString();
    }

    @Override
    public String describe() {
        return "Apache Kafka cluster of " + size() + " processes (KRaft, combined nodes, data in " + dir + ") at "
                + bootstrapServers();
    }

    /** SIGKILL of node {@code node} (1-based); returns once the process is gone. */
    public void kill(int node) throws InterruptedException {
        Process p = processes[node - 1];
        p.destroyForcibly();
        p.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM of node {@code node}, a controlled shutdown; returns once the process is gone. */
    public void stop(int node) throws InterruptedException {
        Process p = processes[node - 1];
        p.destroy();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
        }
    }

    /** Starts node {@code node} again on its data and waits until the cluster has every broker. */
    public void restart(int node) throws IOException, InterruptedException {
        launch(node);
        awaitBrokers(size(), Duration.ofSeconds(120));
    }

    /** The node that leads the most partitions of {@code topics} now. */
    public int leaderOfMostPartitions(Collection<String> topics) throws Exception {
        Map<Integer, Integer> led = new HashMap<>();
        try (Admin admin = admin()) {
            for (TopicDescription d : admin.describeTopics(topics)
                    .allTopicNames()
                    .get(30, TimeUnit.SECONDS)
                    .values()) {
                for (TopicPartitionInfo p : d.partitions()) {
                    if (p.leader() != null) {
                        led.merge(p.leader().id(), 1, Integer::sum);
                    }
                }
            }
        }
        return led.entrySet().stream()
                .max(Map.Entry.comparingByValue())
                .map(Map.Entry::getKey)
                .orElseThrow();
    }

    /** The node that coordinates the transactions of {@code transactionalId}. */
    public int transactionCoordinator(String transactionalId) throws Exception {
        try (Admin admin = admin()) {
            return admin.describeTransactions(List.of(transactionalId))
                    .description(transactionalId)
                    .get(30, TimeUnit.SECONDS)
                    .coordinatorId();
        }
    }

    /** An admin client of the cluster; the caller closes it. */
    public Admin admin() {
        return Admin.create(Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrapServers(),
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                60_000));
    }

    @Override
    public void close() {
        for (Process p : processes) {
            if (p != null) {
                p.destroyForcibly();
            }
        }
        for (Process p : processes) {
            if (p != null) {
                try {
                    p.waitFor(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // a temporary folder
        }
    }

    private Path config(int node) {
        return dir.resolve("node-" + node + ".properties");
    }

    private void format() throws IOException, InterruptedException {
        String clusterId = Uuid.randomUuid().toString();
        StringJoiner voters = new StringJoiner(",");
        for (int n = 1; n <= size(); n++) {
            voters.add(n + "@127.0.0.1:" + controllerPorts[n - 1]);
        }
        int replication = Math.min(3, size());
        int minIsr = Math.min(2, size());
        List<Process> formats = new ArrayList<>();
        for (int n = 1; n <= size(); n++) {
            Properties p = new Properties();
            try (InputStream in = ProcessCluster.class.getResourceAsStream("/single-node-broker.properties")) {
                p.load(in);
            }
            p.putAll(Map.ofEntries(
                    Map.entry("process.roles", "broker,controller"),
                    Map.entry("node.id", String.valueOf(n)),
                    Map.entry("controller.quorum.voters", voters.toString()),
                    Map.entry(
                            "listeners",
                            "PLAINTEXT://127.0.0.1:" + clientPorts[n - 1] + ",CONTROLLER://127.0.0.1:"
                                    + controllerPorts[n - 1]),
                    Map.entry("advertised.listeners", "PLAINTEXT://127.0.0.1:" + clientPorts[n - 1]),
                    Map.entry("controller.listener.names", "CONTROLLER"),
                    Map.entry("inter.broker.listener.name", "PLAINTEXT"),
                    Map.entry("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"),
                    Map.entry("log.dirs", dir.resolve("node-" + n).toString()),
                    Map.entry("num.partitions", "3"),
                    Map.entry("offsets.topic.num.partitions", "6"),
                    Map.entry("transaction.state.log.num.partitions", "6"),
                    Map.entry("offsets.topic.replication.factor", String.valueOf(replication)),
                    Map.entry("transaction.state.log.replication.factor", String.valueOf(replication)),
                    Map.entry("transaction.state.log.min.isr", String.valueOf(minIsr)),
                    Map.entry("share.coordinator.state.topic.replication.factor", String.valueOf(replication)),
                    Map.entry("share.coordinator.state.topic.min.isr", String.valueOf(minIsr)),
                    Map.entry("default.replication.factor", String.valueOf(replication)),
                    Map.entry("min.insync.replicas", String.valueOf(minIsr))));
            try (var out = Files.newBufferedWriter(config(n))) {
                p.store(out, "node " + n);
            }
            formats.add(java(
                            "kafka.tools.StorageTool",
                            "format",
                            "-t",
                            clusterId,
                            "-c",
                            config(n).toString())
                    .redirectOutput(dir.resolve("format-" + n + ".log").toFile())
                    .start());
        }
        for (Process f : formats) {
            if (!f.waitFor(120, TimeUnit.SECONDS) || f.exitValue() != 0) {
                throw new IllegalStateException("formatting Kafka storage failed; see " + dir);
            }
        }
    }

    private void launch(int node) throws IOException {
        List<String> args = new ArrayList<>(loggingOptions());
        args.addAll(List.of("-Xmx512m", "kafka.Kafka", config(node).toString()));
        processes[node - 1] = java(args.toArray(String[]::new))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log(node).toFile()))
                .start();
    }

    private ProcessBuilder java(String... args) {
        List<String> command = new ArrayList<>(
                List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", classPath));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectErrorStream(true);
    }

    private void awaitBrokers(int count, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            for (int i = 0; i < size(); i++) {
                if (processes[i] != null && !processes[i].isAlive()) {
                    throw new IllegalStateException(
                            "Kafka node " + (i + 1) + " exited; see " + dir.resolve("node-" + (i + 1) + ".log"));
                }
            }
            try (Admin admin = Admin.create(Map.of(
                    AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                    AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5000,
                    AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 4000))) {
                int live =
                        admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).size();
                if (live >= count) {
                    return;
                }
                last = live + " of " + count + " brokers";
            } catch (Exception e) {
                last = e.toString();
            }
            Thread.sleep(500);
        }
        throw new IllegalStateException("the Kafka cluster did not have " + count + " brokers within "
                + timeout.toSeconds() + " s (" + last + "); see " + dir);
    }
}
