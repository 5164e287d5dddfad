package io.streamvision.testing;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code --name value} arguments of a benchmark command ({@code bench/*.sh} pass theirs
 * through), with typed look-ups that fall back to the benchmark's defaults.
 */
public final class BenchmarkOptions {

    private final Map<String, String> values;

    private BenchmarkOptions(Map<String, String> values) {
        this.values = values;
    }

    /** Reads {@code --name value} pairs; fails on a name without a value or a value without a name. */
    public static BenchmarkOptions parse(String[] args) {
        if (args.length % 2 != 0) {
            throw new IllegalArgumentException("options come in pairs (--name value): " + String.join(" ", args));
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --name, got " + args[i]);
            }
            values.put(args[i].substring(2), args[i + 1]);
        }
        return new BenchmarkOptions(values);
    }

    public boolean has(String name) {
        return values.containsKey(name);
    }

    /** The value, or null when not given. */
    public String get(String name) {
        return values.get(name);
    }

    public String get(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    public int integer(String name, int fallback) {
        return has(name) ? Integer.parseInt(values.get(name)) : fallback;
    }

    public double decimal(String name, double fallback) {
        return has(name) ? Double.parseDouble(values.get(name)) : fallback;
    }
}
