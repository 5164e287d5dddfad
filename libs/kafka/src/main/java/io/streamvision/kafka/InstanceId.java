package io.streamvision.kafka;

import java.net.InetAddress;
import java.util.Locale;

/**
 * A name for this process that no other live process shares, wherever it runs: the host name (the
 * {@code HOSTNAME} variable where it is exported, a pod's name in Kubernetes; otherwise the name
 * the operating system gives) and the process id. Two instances started side by side on one host
 * get different names, and a container's instance keeps its name across restarts (its process id
 * is the same each time). Thread-safe (immutable once computed).
 */
public final class InstanceId {

    private static final String ID = compute();

    private InstanceId() {}

    /** E.g. {@code vision-scoring-5c9d7-1} in a pod whose JVM is process 1, {@code laptop-41877} on a laptop. */
    public static String get() {
        return ID;
    }

    private static String compute() {
        String host = System.getenv("HOSTNAME");
        if (host == null || host.isBlank()) {
            try {
                host = InetAddress.getLocalHost().getHostName();
            } catch (Exception e) {
                host = "host";
            }
        }
        String safe = host.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9._-]", "-");
        return safe + "-" + ProcessHandle.current().pid();
    }
}
