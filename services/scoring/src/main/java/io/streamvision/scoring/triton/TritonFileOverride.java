package io.streamvision.scoring.triton;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamvision.model.ModelConfig;
import io.streamvision.model.ModelRepository;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The files of a load request ({@code file:<version>/<path>} parameters, as Triton's model
 * repository extension defines them), staged as a repository of their own so the shared
 * repository is never written: {@code <temp>/<model>/<version>/<path>}. As in Triton, the staged
 * model is the given files only. A version without its own {@code config.json} gets the shared
 * repository's newest config of the model with its version set and without the two parts that
 * describe the repository's weights rather than the new ones: {@code sha256} and {@code
 * out_of_domain} (its statistics were fitted on the old weights). Stateless.
 */
public final class TritonFileOverride {

    /** The parameter prefix Triton gives file overrides. */
    public static final String PREFIX = "file:";

    private TritonFileOverride() {}

    /**
     * Writes {@code files} (paths without the prefix, relative, starting with a version number)
     * under a new temporary folder and returns it as a repository.
     *
     * @throws IllegalArgumentException a path that is absolute, climbs out, or has no version
     *     folder; or no config for a model the shared repository does not have
     */
    public static ModelRepository stage(ModelRepository shared, String name, Map<String, byte[]> files) {
        if (!name.matches("[A-Za-z0-9_.-]+") || name.startsWith(".")) {
            throw new IllegalArgumentException("model name '" + name + "' cannot name a folder");
        }
        TreeSet<Integer> versions = new TreeSet<>();
        for (String path : files.keySet()) {
            versions.add(version(path));
        }
        Path root;
        try {
            root = Files.createTempDirectory("vision-model-files-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a folder for the load request's files", e);
        }
        ModelRepository staged = new ModelRepository(root);
        try {
            Path modelDir = root.resolve(name);
            for (Map.Entry<String, byte[]> file : files.entrySet()) {
                Path target = modelDir.resolve(file.getKey()).normalize();
                if (!target.startsWith(modelDir)) {
                    throw new IllegalArgumentException("file override '" + file.getKey() + "' climbs out of the model");
                }
                Files.createDirectories(target.getParent());
                Files.write(target, file.getValue());
            }
            List<Integer> sharedVersions = shared.versions(name);
            Optional<Path> base = sharedVersions.isEmpty()
                    ? Optional.empty()
                    : Optional.of(shared.versionDir(name, sharedVersions.get(sharedVersions.size() - 1))
                            .resolve("config.json"));
            for (int version : versions) {
                Path config = staged.versionDir(name, version).resolve("config.json");
                if (Files.exists(config)) {
                    continue;
                }
                if (base.isEmpty()) {
                    throw new IllegalArgumentException("model " + name + " is not in the repository, so version "
                            + version + " needs its own config.json (file:" + version + "/config.json)");
                }
                ObjectNode json =
                        (ObjectNode) ModelConfig.JSON.readTree(base.get().toFile());
                json.put("version", version);
                json.remove(List.of("sha256", "out_of_domain"));
                ModelConfig.JSON.writerWithDefaultPrettyPrinter().writeValue(config.toFile(), json);
            }
            return staged;
        } catch (IOException | RuntimeException e) {
            deleteQuietly(root);
            if (e instanceof IOException io) {
                throw new UncheckedIOException("cannot write the load request's files: " + io.getMessage(), io);
            }
            throw (RuntimeException) e;
        }
    }

    private static int version(String path) {
        if (path.isEmpty() || path.startsWith("/") || path.contains("\\")) {
            throw new IllegalArgumentException("file override '" + path + "' is not a relative path");
        }
        int slash = path.indexOf('/');
        String first = slash < 0 ? path : path.substring(0, slash);
        if (slash < 0 || slash == path.length() - 1 || !first.matches("[0-9]{1,9}")) {
            throw new IllegalArgumentException("file override '" + PREFIX + path
                    + "' must name a version folder and a file, as file:1/model.onnx");
        }
        for (String part : path.split("/")) {
            if (part.isEmpty() || part.equals(".") || part.equals("..")) {
                throw new IllegalArgumentException("file override '" + path + "' is not a plain relative path");
            }
        }
        return Integer.parseInt(first);
    }

    private static void deleteQuietly(Path root) {
        try (var walk = Files.walk(root)) {
            walk.sorted(java.util.Comparator.reverseOrder())
                    .forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException ignored) {
            // a temporary folder: the system cleans it up
        }
    }
}
