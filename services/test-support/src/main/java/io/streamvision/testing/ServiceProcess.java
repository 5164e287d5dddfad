package io.streamvision.testing;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Starts a packaged Quarkus service ({@code target/quarkus-app/quarkus-run.jar}) as a separate
 * JVM with the given system properties, its output in a log file, so tests can kill it with
 * SIGKILL and start it again.
 */
public final class ServiceProcess {

    private ServiceProcess() {
    }

    /** Starts {@code java -D... -jar jar}; the caller ends the process. */
    public static Process start(Path jar, Map<String, String> properties, Path log) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        properties.forEach((k, v) -> command.add("-D" + k + "=" + v));
        command.add("-jar");
        command.add(jar.toString());
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }
}
