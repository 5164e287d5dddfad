package io.streamvision.kafka;

import io.streamvision.proto.vision.v1.ReasonCode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.jboss.logging.Logger;

/**
 * A consume-process-produce loop with exactly-once semantics inside Kafka: every batch from {@code
 * poll()} is handled, its outputs are produced and its offsets are committed in one transaction
 * ({@code sendOffsetsToTransaction}), and the consumer reads {@code read_committed}. A crash at any
 * point leaves either all of a batch's outputs and its offsets, or none.
 *
 * <p>Failure handling: a record the handler rejects becomes one dead letter; an output bigger than
 * {@code max.request.size} is replaced by a {@code TOO_LARGE} dead letter before it is produced; a
 * batch whose handler throws is aborted, rewound and retried one record at a time so that a single
 * bad record cannot stop the loop ({@code INFERENCE_FAILED}). A transaction that fails is aborted
 * and its batch rewound and retried, with a doubling backoff; after {@code maxCommitAttempts}
 * failures in a row the loop stops as FAILED (readiness goes DOWN) and {@link #failure()} says why.
 * Being fenced by a newer instance with the same transactional id stops the loop as FAILED too.
 * Clients that fail in a way only new ones mend (a producer in a fatal state, say after its
 * transaction coordinator moved) are closed and made afresh, the uncommitted batch dropped with
 * them, at most 5 times in 10 minutes before the loop stops as FAILED.
 *
 * <p>Pipelined: while one batch's transaction commits, the next poll is already being handled on
 * a second thread, and a batch is committed before its partitions are revoked. A failed commit
 * discards the batch behind it as well, and both are rewound and handled again, so exactly-once
 * holds as without the overlap. The handler still sees one batch at a time.
 *
 * <p>Runs on its own threads; {@link #state()} may be read from any thread.
 */
public final class TransactionalLoop implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(TransactionalLoop.class);

    /** Lifecycle of the loop, for readiness checks. */
    public enum State {
        /** Connecting, initialising transactions and joining the consumer group. */
        STARTING,
        /** In the group (with or without partitions) and consuming. */
        RUNNING,
        STOPPED,
        FAILED
    }

    /**
     * Turns a batch of consumed records into records to produce. Called on the loop thread only.
     */
    @FunctionalInterface
    public interface BatchHandler {
        /**
         * @param records the batch, never empty
         * @param out where to add outputs, dead letters included
         * @throws Exception to make the loop abort and retry the batch record by record
         */
        void handle(List<ConsumerRecord<byte[], byte[]>> records, List<ProducerRecord<byte[], byte[]>> out)
                throws Exception;
    }

    /** Transactions of one batch that may fail in a row before a loop gives up (the default). */
    public static final int COMMIT_ATTEMPTS = 10;

    /** The wait after a loop's first failed commit (the default). */
    public static final Duration COMMIT_BACKOFF = Duration.ofMillis(100);

    /**
     * What the loop needs to run.
     *
     * @param maxCommitAttempts transactions of one batch that may fail in a row before the loop
     *     gives up and reports FAILED
     * @param commitBackoff wait after the first failed commit; doubled after each further one, up
     *     to 10 s
     */
    public record Settings(
            String name,
            String bootstrapServers,
            String groupId,
            String transactionalId,
            Pattern topics,
            int maxPollRecords,
            Duration pollTimeout,
            int maxRequestBytes,
            Map<String, Object> extraConsumerProps,
            Map<String, Object> extraProducerProps,
            int maxCommitAttempts,
            Duration commitBackoff) {

        /**
         * Settings by name, as ONNX Runtime's {@code SessionOptions} are set: the loop's name and
         * brokers, then what differs from the defaults (500 records a poll, 200 ms poll timeout, 1
         * MiB requests, no extra client settings, {@link #COMMIT_ATTEMPTS} commits {@link
         * #COMMIT_BACKOFF} apart).
         */
        public static Builder builder(String name, String bootstrapServers) {
            return new Builder(name, bootstrapServers);
        }
    }

    /** Builds {@link Settings}; group, transactional id and topics are required. */
    public static final class Builder {
        private final String name;
        private final String bootstrapServers;
        private String groupId;
        private String transactionalId;
        private Pattern topics;
        private int maxPollRecords = 500;
        private Duration pollTimeout = Duration.ofMillis(200);
        private int maxRequestBytes = 1 << 20;
        private Map<String, Object> consumer = Map.of();
        private Map<String, Object> producer = Map.of();
        private int maxCommitAttempts = COMMIT_ATTEMPTS;
        private Duration commitBackoff = COMMIT_BACKOFF;

        private Builder(String name, String bootstrapServers) {
            this.name = name;
            this.bootstrapServers = bootstrapServers;
        }

        /** The consumer group and the transactional id (unique per live instance). */
        public Builder identity(String groupId, String transactionalId) {
            this.groupId = groupId;
            this.transactionalId = transactionalId;
            return this;
        }

        public Builder topics(Pattern topics) {
            this.topics = topics;
            return this;
        }

        /** Records a poll (one transaction each) and how long a poll waits for them. */
        public Builder polls(int records, Duration timeout) {
            this.maxPollRecords = records;
            this.pollTimeout = timeout;
            return this;
        }

        /** Larger outputs become TOO_LARGE dead letters. */
        public Builder maxRequestBytes(int bytes) {
            this.maxRequestBytes = bytes;
            return this;
        }

        /** Further consumer settings (connection, membership, fetch sizes). */
        public Builder consumer(Map<String, Object> settings) {
            this.consumer = settings;
            return this;
        }

        /** Further producer settings (connection, transaction timeout). */
        public Builder producer(Map<String, Object> settings) {
            this.producer = settings;
            return this;
        }

        /** Commits of one batch that may fail in a row, and the first wait between them. */
        public Builder commits(int attempts, Duration backoff) {
            this.maxCommitAttempts = attempts;
            this.commitBackoff = backoff;
            return this;
        }

        public Settings build() {
            if (groupId == null || transactionalId == null || topics == null) {
                throw new IllegalStateException("loop " + name + ": group, transactional id and topics are required");
            }
            return new Settings(
                    name,
                    bootstrapServers,
                    groupId,
                    transactionalId,
                    topics,
                    maxPollRecords,
                    pollTimeout,
                    maxRequestBytes,
                    consumer,
                    producer,
                    maxCommitAttempts,
                    commitBackoff);
        }
    }

    /** A polled batch and its outputs, computed on the handler thread. */
    private record InFlight(
            List<ConsumerRecord<byte[], byte[]>> batch, Future<List<ProducerRecord<byte[], byte[]>>> out) {}

    /** The loop gave up after commits that failed in a row. */
    static final class CommitsFailedException extends RuntimeException {
        CommitsFailedException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private static final Duration POLL_WHILE_HANDLING = Duration.ofMillis(5);

    private final Settings settings;
    private final BatchHandler handler;
    private final DeadLetters deadLetters;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile State state = State.STARTING;
    private volatile boolean running = true;
    private volatile long batches;
    private volatile long recordsIn;
    private volatile long recordsOut;
    private volatile long handleNanos;
    private volatile long commitNanos;
    private volatile int assignedPartitions;
    private volatile String failure;
    private int failedCommits;
    private final RestartBudget clientRestarts = new RestartBudget(System::nanoTime);
    private KafkaConsumer<byte[], byte[]> consumer;
    private KafkaProducer<byte[], byte[]> producer;
    private ExecutorService handlerThread;
    /** The batch being handled or handled but not yet committed; loop thread only. */
    private InFlight inFlight;

    private Thread thread;

    public TransactionalLoop(Settings settings, BatchHandler handler, DeadLetters deadLetters) {
        this.settings = settings;
        this.handler = handler;
        this.deadLetters = deadLetters;
    }

    /**
     * The loops started in this process and not yet closed, which the liveness check ({@link
     * LoopsLiveness}) watches.
     */
    private static final Set<TransactionalLoop> STARTED = ConcurrentHashMap.newKeySet();

    /** Starts the loop thread. */
    public synchronized void start() {
        STARTED.add(this);
        thread = new Thread(this::run, settings.name() + "-loop");
        thread.setDaemon(false);
        thread.start();
    }

    public State state() {
        return state;
    }

    /** The loop's name (its threads carry it). */
    public String name() {
        return settings.name();
    }

    /** The loops of this process that stopped as FAILED and were not closed. */
    static List<TransactionalLoop> failedLoops() {
        return STARTED.stream().filter(l -> l.state == State.FAILED).toList();
    }

    /** Why the loop is FAILED, or null. */
    public String failure() {
        return failure;
    }

    /** Batches (transactions) committed so far. */
    public long batches() {
        return batches;
    }

    /** Records consumed and committed so far. */
    public long recordsIn() {
        return recordsIn;
    }

    /** Records produced and committed so far. */
    public long recordsOut() {
        return recordsOut;
    }

    /** Partitions the loop holds now. */
    public int partitions() {
        return assignedPartitions;
    }

    /** Time spent in the handler so far, in milliseconds. */
    public long handleMillis() {
        return handleNanos / 1_000_000;
    }

    /** Time spent producing and committing so far, in milliseconds. */
    public long commitMillis() {
        return commitNanos / 1_000_000;
    }

    private Properties consumerProps() {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, settings.groupId());
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, settings.maxPollRecords());
        props.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, "5000");
        props.putAll(settings.extraConsumerProps());
        return props;
    }

    private Properties producerProps() {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, settings.transactionalId());
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, settings.maxRequestBytes());
        props.putAll(settings.extraProducerProps());
        return props;
    }

    private void run() {
        try {
            while (runClients()) {
                // the next clients start afresh
            }
            state = State.STOPPED;
        } catch (ProducerFencedException | InvalidProducerEpochException e) {
            failure = "fenced by a newer instance with transactional id " + settings.transactionalId();
            LOG.errorf("%s: %s; stopping", settings.name(), failure);
            state = State.FAILED;
        } catch (CommitsFailedException e) {
            failure = e.getMessage();
            LOG.errorf(e.getCause(), "%s: %s; stopping, readiness goes DOWN", settings.name(), failure);
            state = State.FAILED;
        } catch (RuntimeException e) {
            failure = "loop failed: " + e;
            LOG.errorf(e, "%s: loop failed", settings.name());
            state = State.FAILED;
        } finally {
            stopped.countDown();
        }
    }

    /**
     * Runs the loop with one consumer and one producer until it is stopped (false), or until they
     * failed in a way only new clients mend (true): a producer in a fatal state (its transaction
     * lost while the coordinator moved, say) or clients that could not start. The uncommitted batch
     * is dropped with them; the new producer's {@code initTransactions} aborts its transaction and
     * the new consumer resumes from the committed offsets, as a restarted process would, at most
     * {@link RestartBudget#MAX} times in {@link RestartBudget#WINDOW}.
     */
    private boolean runClients() {
        try (KafkaConsumer<byte[], byte[]> c =
                        new KafkaConsumer<>(consumerProps(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
                KafkaProducer<byte[], byte[]> producer =
                        new KafkaProducer<>(producerProps(), new ByteArraySerializer(), new ByteArraySerializer())) {
            consumer = c;
            this.producer = producer;
            handlerThread = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, settings.name() + "-handler");
                t.setDaemon(true);
                return t;
            });
            try {
                consumeAndCommit(c, producer);
                return false;
            } catch (ProducerFencedException | InvalidProducerEpochException | CommitsFailedException e) {
                throw e;
            } catch (AuthenticationException | AuthorizationException e) {
                throw e; // the configuration's, not the clients': new ones would fail the same way
            } catch (KafkaException e) {
                if (!running || !clientRestarts.take()) {
                    throw e;
                }
                // Dropped before the clients close, so closing the consumer commits nothing of it.
                InFlight dropped = inFlight;
                inFlight = null;
                if (dropped != null) {
                    dropped.out().cancel(true);
                }
                LOG.warnf(
                        e,
                        "%s: its Kafka clients failed; starting them afresh, the open transaction aborted and the"
                                + " uncommitted records read again (%d of %d restarts allowed within %d minutes)",
                        settings.name(),
                        clientRestarts.inWindow(),
                        RestartBudget.MAX,
                        RestartBudget.WINDOW.toMinutes());
                return true;
            } finally {
                handlerThread.shutdownNow();
            }
        }
    }

    private void consumeAndCommit(KafkaConsumer<byte[], byte[]> c, KafkaProducer<byte[], byte[]> producer) {
        producer.initTransactions();
        consumer.subscribe(settings.topics(), new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                // Commit what was handled before the partitions go to another member.
                finishInFlight(null);
                assignedPartitions = Math.max(0, assignedPartitions - partitions.size());
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                assignedPartitions = c.assignment().size();
                // Called after every join, with or without partitions: the group, its
                // coordinator and the group ACLs are all fine now.
                if (state == State.STARTING) {
                    state = State.RUNNING;
                    LOG.infof("%s: joined group %s", settings.name(), settings.groupId());
                }
            }

            @Override
            public void onPartitionsLost(Collection<TopicPartition> partitions) {
                assignedPartitions = 0;
            }
        });
        LOG.infof(
                "%s: consuming %s as group %s with transactional id %s",
                settings.name(), settings.topics().pattern(), settings.groupId(), settings.transactionalId());
        // Pipelined: the next poll is handled on the handler thread while the previous batch's
        // transaction commits here. A failed commit discards the batch behind it and rewinds both.
        while (running) {
            ConsumerRecords<byte[], byte[]> polled;
            boolean handling = inFlight != null && !inFlight.out().isDone();
            try {
                // While a batch is handled, keep fetching the next one; once it is handled,
                // take what is already fetched and commit at once.
                polled = consumer.poll(
                        inFlight == null ? settings.pollTimeout() : handling ? POLL_WHILE_HANDLING : Duration.ZERO);
            } catch (WakeupException e) {
                break;
            }
            if (polled.isEmpty() && handling) {
                continue;
            }
            InFlight next = null;
            if (!polled.isEmpty()) {
                List<ConsumerRecord<byte[], byte[]>> batch = new ArrayList<>(polled.count());
                polled.forEach(batch::add);
                next = new InFlight(batch, handlerThread.submit(() -> handle(batch)));
            }
            inFlight = finishInFlight(next) ? next : null;
        }
        finishInFlight(null);
    }

    /** Restarts of the loop's clients since it started. */
    public long clientRestarts() {
        return clientRestarts.total();
    }

    /**
     * Commits the batch in flight, if any, once its outputs are there. When the commit fails, the
     * batch {@code behind} it (already polled, maybe being handled) is discarded too and the consumer
     * rewound to the first record of either, so both are handled again.
     *
     * @return false when {@code behind} was discarded
     */
    private boolean finishInFlight(InFlight behind) {
        InFlight current = inFlight;
        inFlight = null;
        if (current == null) {
            return true;
        }
        List<ProducerRecord<byte[], byte[]>> out = outputs(current);
        long started = System.nanoTime();
        boolean committed = commit(current.batch(), out);
        commitNanos += System.nanoTime() - started;
        if (committed) {
            return true;
        }
        List<ConsumerRecord<byte[], byte[]>> again = new ArrayList<>(current.batch());
        if (behind != null) {
            behind.out().cancel(false);
            waitQuietly(behind);
            again.addAll(behind.batch());
        }
        rewind(again);
        return false;
    }

    private static List<ProducerRecord<byte[], byte[]>> outputs(InFlight batch) {
        try {
            return batch.out().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while a batch was handled", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("handling a batch failed: " + e.getCause(), e.getCause());
        }
    }

    private static void waitQuietly(InFlight batch) {
        try {
            batch.out().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | CancellationException e) {
            // discarded anyway
        }
    }

    /** The outputs of one batch; on the handler thread. */
    private List<ProducerRecord<byte[], byte[]>> handle(List<ConsumerRecord<byte[], byte[]>> batch) {
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>(batch.size());
        long started = System.nanoTime();
        try {
            handler.handle(batch, out);
        } catch (Exception e) {
            LOG.warnf(e, "%s: batch of %d failed; retrying record by record", settings.name(), batch.size());
            out.clear();
            for (ConsumerRecord<byte[], byte[]> record : batch) {
                List<ProducerRecord<byte[], byte[]>> single = new ArrayList<>(1);
                try {
                    handler.handle(List.of(record), single);
                    out.addAll(single);
                } catch (Exception recordFailure) {
                    out.add(deadLetters.forRecord(
                            record,
                            Stages.loopProcess(settings.name()),
                            ReasonCode.INFERENCE_FAILED,
                            String.valueOf(recordFailure.getMessage())));
                }
            }
        }
        handleNanos += System.nanoTime() - started;
        return out;
    }

    /** Produces a batch's outputs and commits its offsets in one transaction; false when it failed and was aborted. */
    private boolean commit(List<ConsumerRecord<byte[], byte[]>> batch, List<ProducerRecord<byte[], byte[]>> out) {
        try {
            producer.beginTransaction();
            for (ProducerRecord<byte[], byte[]> record : out) {
                producer.send(withinSizeLimit(record, batch));
            }
            producer.sendOffsetsToTransaction(nextOffsets(batch), consumer.groupMetadata());
            producer.commitTransaction();
            batches++;
            recordsIn += batch.size();
            recordsOut += out.size();
            failedCommits = 0;
            return true;
        } catch (ProducerFencedException | InvalidProducerEpochException e) {
            throw e;
        } catch (KafkaException e) {
            failedCommits++;
            LOG.warnf(
                    e,
                    "%s: transaction failed (%d of %d attempts); aborting and rewinding %d records",
                    settings.name(),
                    failedCommits,
                    settings.maxCommitAttempts(),
                    batch.size());
            producer.abortTransaction();
            if (failedCommits >= settings.maxCommitAttempts()) {
                throw new CommitsFailedException(
                        failedCommits + " transactions in a row failed, the last with: " + e.getMessage(), e);
            }
            long backoff = Math.min(10_000, settings.commitBackoff().toMillis() << Math.min(16, failedCommits - 1));
            try {
                Thread.sleep(backoff);
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
                running = false;
            }
            return false;
        }
    }

    /** Replaces an output that the broker would refuse for its size with a dead letter. */
    private ProducerRecord<byte[], byte[]> withinSizeLimit(
            ProducerRecord<byte[], byte[]> record, List<ConsumerRecord<byte[], byte[]>> batch) {
        long size =
                (record.key() == null ? 0 : record.key().length) + (record.value() == null ? 0 : record.value().length);
        for (Header header : record.headers()) {
            size += header.key().length() + (header.value() == null ? 0 : header.value().length);
        }
        // Leave room for the record batch framing.
        if (size + 512 <= settings.maxRequestBytes()) {
            return record;
        }
        String message = "output for topic "
                + record.topic()
                + " is "
                + size
                + " bytes, over max.request.size "
                + settings.maxRequestBytes();
        var letter = deadLetters.describe(
                Stages.loopProduce(settings.name()),
                ReasonCode.TOO_LARGE,
                message,
                DeadLetters.Source.unwritten(record));
        return deadLetters.toRecord(letter, record.key(), record.headers());
    }

    private static Map<TopicPartition, OffsetAndMetadata> nextOffsets(List<ConsumerRecord<byte[], byte[]>> batch) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> record : batch) {
            offsets.merge(
                    new TopicPartition(record.topic(), record.partition()),
                    new OffsetAndMetadata(record.offset() + 1),
                    (a, b) -> a.offset() >= b.offset() ? a : b);
        }
        return offsets;
    }

    /** Seeks each partition still assigned back to its first record in {@code records}. */
    private void rewind(List<ConsumerRecord<byte[], byte[]>> records) {
        Map<TopicPartition, Long> first = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> record : records) {
            first.merge(new TopicPartition(record.topic(), record.partition()), record.offset(), Math::min);
        }
        Set<TopicPartition> assigned = consumer.assignment();
        first.forEach((partition, offset) -> {
            if (assigned.contains(partition)) {
                consumer.seek(partition, offset);
            }
        });
    }

    /** Stops the loop after the batch in progress and waits for it. */
    @Override
    public void close() {
        STARTED.remove(this);
        running = false;
        KafkaConsumer<byte[], byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
        try {
            stopped.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
