package io.streamvision.kafka;

import io.streamvision.proto.vision.v1.ReasonCode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
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
 *
 * <p>Runs on its own thread; {@link #state()} may be read from any thread.
 */
public final class TransactionalLoop implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(TransactionalLoop.class);

    /** Lifecycle of the loop, for readiness checks. */
    public enum State {
        STARTING,
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

        /** Settings with 10 commit attempts, 100 ms apart at first. */
        public Settings(
                String name,
                String bootstrapServers,
                String groupId,
                String transactionalId,
                Pattern topics,
                int maxPollRecords,
                Duration pollTimeout,
                int maxRequestBytes,
                Map<String, Object> extraConsumerProps,
                Map<String, Object> extraProducerProps) {
            this(
                    name,
                    bootstrapServers,
                    groupId,
                    transactionalId,
                    topics,
                    maxPollRecords,
                    pollTimeout,
                    maxRequestBytes,
                    extraConsumerProps,
                    extraProducerProps,
                    10,
                    Duration.ofMillis(100));
        }
    }

    /** The loop gave up after commits that failed in a row. */
    static final class CommitsFailedException extends RuntimeException {
        CommitsFailedException(String message, Throwable cause) {
            super(message, cause);
        }
    }

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
    private KafkaConsumer<byte[], byte[]> consumer;
    private Thread thread;

    public TransactionalLoop(Settings settings, BatchHandler handler, DeadLetters deadLetters) {
        this.settings = settings;
        this.handler = handler;
        this.deadLetters = deadLetters;
    }

    /** Starts the loop thread. */
    public synchronized void start() {
        thread = new Thread(this::run, settings.name() + "-loop");
        thread.setDaemon(false);
        thread.start();
    }

    public State state() {
        return state;
    }

    /** Batches committed so far. */
    public long batches() {
        return batches;
    }

    /** Records consumed and committed so far. */
    public long recordsIn() {
        return recordsIn;
    }

    /** Why the loop is FAILED, or null. */
    public String failure() {
        return failure;
    }

    /** Partitions the consumer holds now (0 before the first assignment). */
    public int assignedPartitions() {
        return assignedPartitions;
    }

    /** Records produced and committed so far. */
    public long recordsOut() {
        return recordsOut;
    }

    /** Time spent in the handler (the service's work on each poll) so far, in milliseconds. */
    public long handleMillis() {
        return handleNanos / 1_000_000;
    }

    /** Time spent producing and committing transactions so far, in milliseconds. */
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
        try (KafkaConsumer<byte[], byte[]> c =
                        new KafkaConsumer<>(consumerProps(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
                KafkaProducer<byte[], byte[]> producer =
                        new KafkaProducer<>(producerProps(), new ByteArraySerializer(), new ByteArraySerializer())) {
            consumer = c;
            producer.initTransactions();
            consumer.subscribe(settings.topics(), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    assignedPartitions = Math.max(0, assignedPartitions - partitions.size());
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    assignedPartitions = c.assignment().size();
                }

                @Override
                public void onPartitionsLost(Collection<TopicPartition> partitions) {
                    assignedPartitions = 0;
                }
            });
            state = State.RUNNING;
            LOG.infof(
                    "%s: consuming %s as group %s with transactional id %s",
                    settings.name(), settings.topics().pattern(), settings.groupId(), settings.transactionalId());
            while (running) {
                ConsumerRecords<byte[], byte[]> polled = consumer.poll(settings.pollTimeout());
                if (polled.isEmpty()) {
                    continue;
                }
                List<ConsumerRecord<byte[], byte[]>> batch = new ArrayList<>(polled.count());
                polled.forEach(batch::add);
                processBatch(producer, batch);
            }
            state = State.STOPPED;
        } catch (WakeupException e) {
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

    private void processBatch(KafkaProducer<byte[], byte[]> producer, List<ConsumerRecord<byte[], byte[]>> batch) {
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
                            settings.name() + "/process",
                            ReasonCode.INFERENCE_FAILED,
                            String.valueOf(recordFailure.getMessage())));
                }
            }
        }
        long handled = System.nanoTime();
        handleNanos += handled - started;
        commit(producer, batch, out);
        commitNanos += System.nanoTime() - handled;
    }

    private void commit(
            KafkaProducer<byte[], byte[]> producer,
            List<ConsumerRecord<byte[], byte[]>> batch,
            List<ProducerRecord<byte[], byte[]>> out) {
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
            rewind(batch);
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
                settings.name() + "/produce",
                ReasonCode.TOO_LARGE,
                message,
                record.topic(),
                -1,
                -1,
                record.key(),
                record.headers(),
                record.value());
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

    private void rewind(List<ConsumerRecord<byte[], byte[]>> batch) {
        Map<TopicPartition, Long> first = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> record : batch) {
            first.merge(new TopicPartition(record.topic(), record.partition()), record.offset(), Math::min);
        }
        first.forEach(consumer::seek);
    }

    /** Stops the loop after the batch in progress and waits for it. */
    @Override
    public void close() {
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
