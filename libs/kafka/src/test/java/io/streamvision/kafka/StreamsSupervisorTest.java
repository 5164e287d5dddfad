package io.streamvision.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamvision.testing.InJvmKraftBroker;
import io.streamvision.testing.KafkaBrokerExtension;
import io.streamvision.testing.TestBroker;
import io.streamvision.testing.TestClients;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A real Kafka Streams application against a real broker: ready only while RUNNING and connected
 * (a broker that goes away sets it not ready though Kafka Streams stays RUNNING), the failure action
 * runs once when a stream thread dies and the application reaches ERROR, and closing leaves the
 * consumer group at once rather than after the session timeout.
 */
@ExtendWith(KafkaBrokerExtension.class)
class StreamsSupervisorTest {

    private static KafkaStreams app(TestBroker broker, String id, String topic) {
        StreamsBuilder builder = new StreamsBuilder();
        builder.stream(topic, Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()))
                .foreach((k, v) -> {
                    if (new String(v, StandardCharsets.UTF_8).equals("poison")) {
                        throw new IllegalStateException("a processor bug");
                    }
                });
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, id);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        props.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        props.putAll(StreamsSupervisor.leaveGroupOnClose());
        props.put(StreamsConfig.STATE_DIR_CONFIG, System.getProperty("java.io.tmpdir") + "/streams-supervisor-" + id);
        return new KafkaStreams(builder.build(), props);
    }

    private static void awaitRunning(KafkaStreams streams) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (streams.state() != KafkaStreams.State.RUNNING && System.nanoTime() < end) {
            Thread.sleep(100);
        }
    }

    @Test
    void readyOnlyWhileRunningAndTheFailureActionRunsOnError(TestBroker broker) throws Exception {
        String topic = "supervisor-poison";
        TopicProvisioner.ensure(broker.bootstrapServers(), List.of(topic), 1, (short) 1);
        KafkaStreams streams = app(broker, "supervisor-poison-app", topic);
        CountDownLatch failed = new CountDownLatch(1);
        try (StreamsSupervisor supervisor =
                new StreamsSupervisor("test", streams, Duration.ofMillis(100), failed::countDown)) {
            assertFalse(supervisor.ready(), "not ready before it runs");
            streams.start();
            awaitRunning(streams);
            assertTrue(supervisor.ready(), "ready while RUNNING");
            TestClients.send(
                    broker.bootstrapServers(),
                    List.of(new ProducerRecord<>(topic, null, "poison".getBytes(StandardCharsets.UTF_8))));
            assertTrue(failed.await(60, TimeUnit.SECONDS), "the failure action runs when the application dies");
            assertFalse(supervisor.ready());
        }
    }

    @Test
    void notReadyOnceTheBrokerIsGone() throws Exception {
        InJvmKraftBroker own = InJvmKraftBroker.start();
        String topic = "supervisor-cut-off";
        TopicProvisioner.ensure(own.bootstrapServers(), List.of(topic), 1, (short) 1);
        KafkaStreams streams = app(own, "supervisor-cut-off-app", topic);
        try (StreamsSupervisor supervisor = new StreamsSupervisor("test", streams, Duration.ofMillis(200), () -> {})) {
            streams.start();
            awaitRunning(streams);
            Thread.sleep(1000);
            assertTrue(supervisor.ready(), "ready while RUNNING and connected");
            long cut = System.nanoTime();
            own.close();
            long end = cut + StreamsSupervisor.BROKER_GRACE.plusSeconds(30).toNanos();
            while (supervisor.ready() && System.nanoTime() < end) {
                Thread.sleep(200);
            }
            System.out.printf(
                    "[streams supervisor] broker gone: not ready after %.1f s, Kafka Streams %s, %s%n",
                    (System.nanoTime() - cut) / 1e9, streams.state(), supervisor.cutOff());
            assertEquals(KafkaStreams.State.RUNNING, streams.state(), "Kafka Streams itself keeps RUNNING");
            assertFalse(supervisor.ready(), "not ready without a broker");
            assertTrue(
                    supervisor.cutOff().orElseThrow().startsWith("no connection to any Kafka broker"),
                    supervisor.cutOff().toString());
        } finally {
            own.close();
        }
    }

    @Test
    void closingLeavesTheGroupAtOnce(TestBroker broker) throws Exception {
        String topic = "supervisor-leave";
        TopicProvisioner.ensure(broker.bootstrapServers(), List.of(topic), 1, (short) 1);
        KafkaStreams streams = app(broker, "supervisor-leave-app", topic);
        StreamsSupervisor supervisor = new StreamsSupervisor("test", streams, Duration.ofSeconds(1), () -> {});
        streams.start();
        awaitRunning(streams);
        Properties admin = new Properties();
        admin.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        try (Admin client = Admin.create(admin)) {
            long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (members(client) == 0 && System.nanoTime() < end) {
                Thread.sleep(100);
            }
            assertEquals(1, members(client), "one member while it runs");
            long closing = System.nanoTime();
            supervisor.close();
            int left = members(client);
            System.out.printf(
                    "[streams supervisor] closed in %.1f s; members of the group right after: %d%n",
                    (System.nanoTime() - closing) / 1e9, left);
            assertEquals(0, left, "the member left the group on close (no wait for the session timeout)");
        }
    }

    private static int members(Admin client) throws Exception {
        return client.describeConsumerGroups(List.of("supervisor-leave-app"))
                .all()
                .get(10, TimeUnit.SECONDS)
                .get("supervisor-leave-app")
                .members()
                .size();
    }
}
