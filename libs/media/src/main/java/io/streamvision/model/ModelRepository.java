package io.streamvision.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Reads a model repository laid out as {@code <root>/<name>/<version>/config.json} (in the spirit
 * of Triton's). Each call reads the disk afresh, so new versions show up without a restart.
 * Thread-safe.
 */
public final class ModelRepository {

    private final Path root;

    public ModelRepository(Path root) {
        this.root = root;
    }

    public Path root() {
        return root;
    }

    /** Folder of one model version. */
    public Path versionDir(String name, int version) {
        return root.resolve(name).resolve(Integer.toString(version));
    }

    /** Model names present in the repository, sorted. */
    public List<String> modelNames() {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> dirs = Files.list(root)) {
            return dirs.filter(Files::isDirectory)
                    .filter(dir -> !versions(dir.getFileName().toString()).isEmpty())
                    .map(dir -> dir.getFileName().toString())
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list model repository " + root, e);
        }
    }

    /** Numbered versions of a model that have a config, ascending. */
    public List<Integer> versions(String name) {
        Path dir = root.resolve(name);
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(dir)) {
            List<Integer> versions = new ArrayList<>();
            entries.filter(p -> p.getFileName().toString().matches("[0-9]+"))
                    .filter(p -> Files.isRegularFile(p.resolve("config.json")))
                    .forEach(p -> versions.add(Integer.parseInt(p.getFileName().toString())));
            versions.sort(Comparator.naturalOrder());
            return versions;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list versions of model " + name + " in " + root, e);
        }
    }

    /** Reads one version's config, checking that its name and version match its folders. */
    public ModelConfig config(String name, int version) {
        Path file = versionDir(name, version).resolve("config.json");
        try {
            ModelConfig config = ModelConfig.JSON.readValue(file.toFile(), ModelConfig.class);
            if (!name.equals(config.name()) || version != config.version()) {
                throw new IllegalArgumentException("Model config "
                        + file
                        + " says "
                        + config.name()
                        + " version "
                        + config.version()
                        + " but lives in "
                        + name
                        + "/"
                        + version);
            }
            for (ModelConfig.TensorSpec input :
                    config.inputs() == null ? List.<ModelConfig.TensorSpec>of() : config.inputs()) {
                try {
                    input.colours();
                    input.checkNormalisation();
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(
                            "Model config " + file + ", input " + input.name() + ": " + e.getMessage(), e);
                }
            }
            return config;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read model config " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * The SHA-256 of one version's {@code config.json} as it is now, or {@code ""} when it cannot be
     * read: how a service notices a config edited in place.
     */
    public String configDigest(String name, int version) {
        try {
            return sha256(versionDir(name, version).resolve("config.json"));
        } catch (IOException e) {
            return "";
        }
    }

    /** The SHA-256 of a file, lower-case hex, read in 64 KiB pieces (model files can be large). */
    public static String sha256(Path file) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
        try (var in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** The newest version's config of a model, if the model exists. */
    public Optional<ModelConfig> latest(String name) {
        List<Integer> versions = versions(name);
        return versions.isEmpty() ? Optional.empty() : Optional.of(config(name, versions.get(versions.size() - 1)));
    }

    /** The newest config of every model, by name. */
    public Map<String, ModelConfig> latestConfigs() {
        Map<String, ModelConfig> configs = new TreeMap<>();
        for (String name : modelNames()) {
            latest(name).ifPresent(c -> configs.put(name, c));
        }
        return configs;
    }
}
