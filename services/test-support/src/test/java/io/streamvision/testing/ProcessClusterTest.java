package io.streamvision.testing;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ProcessClusterTest {

    @Test
    void aNodeLogsAtInfoWithoutQuarkusBootstrapOnItsClassPath() throws Exception {
        try (ProcessCluster cluster = ProcessCluster.start(1)) {
            // the whole command line (ProcessHandle.Info cuts a long one short)
            String command = Files.readString(Path.of("/proc", Long.toString(cluster.pid(1)), "cmdline"))
                    .replace('\0', ' ');
            assertTrue(command.contains("kafka.Kafka"), command);
            assertFalse(
                    command.contains("quarkus-bootstrap-runner"),
                    "Quarkus's initial log configurator would enable every level in the broker");
            String log = Files.readString(cluster.log(1));
            assertTrue(log.contains(" INFO ") && log.contains("Kafka Server started"), log);
            assertFalse(log.contains(" DEBUG ") || log.contains(" TRACE "), "INFO and above only");

            cluster.stop(1);
            cluster.restart(1);
            String again = Files.readString(cluster.log(1));
            assertTrue(
                    again.indexOf("Kafka Server started") != again.lastIndexOf("Kafka Server started"),
                    "a restarted node logs with the same configuration");
        }
    }
}
