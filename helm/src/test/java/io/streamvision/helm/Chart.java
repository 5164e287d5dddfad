package io.streamvision.helm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The chart under test, driven through the Helm engine (helm-java runs Helm's Go code in process;
 * no helm binary and no cluster). {@link #render()} is {@code helm template} with a fixed release
 * name and namespace; {@link #lint()} is {@code helm lint --strict}, optionally on a copy of the
 * chart whose values.yaml has overrides merged in (helm-java's lint takes no values files). Not
 * thread-safe: build one per test.
 */
final class Chart {

    static final Path DIR =
            Path.of(System.getProperty("vision.helm.chart", "streamvision")).toAbsolutePath();

    /** The value sets of the tests (src/test/resources/values). */
    static final Path VALUES = valuesDirectory();

    static final String RELEASE = "vision";
    static final String NAMESPACE = "streaming";
    static final List<String> COMPONENTS = List.of("preprocess", "scoring", "captioning");

    private static final YAMLMapper YAML = new YAMLMapper();

    private final List<Path> valuesFiles = new ArrayList<>();
    private final Map<String, String> sets = new LinkedHashMap<>();

    static Chart chart() {
        return new Chart();
    }

    /** Adds a values file from src/test/resources/values, e.g. {@code "gpu.yaml"}. */
    Chart values(String file) {
        valuesFiles.add(VALUES.resolve(file));
        return this;
    }

    /** Adds a {@code --set key=value}. */
    Chart set(String key, Object value) {
        sets.put(key, String.valueOf(value));
        return this;
    }

    /** Renders the chart; throws with Helm's message when rendering fails. */
    Manifests render() {
        TemplateCommand template = new Helm(DIR).template().withName(RELEASE).withNamespace(NAMESPACE);
        for (Path file : valuesFiles) {
            template = template.withValuesFile(file);
        }
        for (Map.Entry<String, String> set : sets.entrySet()) {
            template = template.set(set.getKey(), set.getValue());
        }
        return Manifests.parse(template.call());
    }

    /**
     * Lints (strict) the chart, with the values files merged into a copy's values.yaml when there
     * are any.
     */
    LintResult lint() {
        if (!sets.isEmpty()) {
            throw new IllegalStateException("lint takes values files only");
        }
        if (valuesFiles.isEmpty()) {
            return new Helm(DIR).lint().strict().call();
        }
        Path copy = copyWithMergedValues();
        try {
            return new Helm(copy).lint().strict().call();
        } finally {
            deleteRecursively(copy.getParent());
        }
    }

    private Path copyWithMergedValues() {
        try {
            Path copy = Files.createTempDirectory("chart").resolve(DIR.getFileName());
            try (Stream<Path> files = Files.walk(DIR)) {
                for (Path source : (Iterable<Path>) files::iterator) {
                    Files.copy(source, copy.resolve(DIR.relativize(source).toString()));
                }
            }
            ObjectNode values =
                    (ObjectNode) YAML.readTree(DIR.resolve("values.yaml").toFile());
            for (Path file : valuesFiles) {
                merge(values, (ObjectNode) YAML.readTree(file.toFile()));
            }
            YAML.writeValue(copy.resolve("values.yaml").toFile(), values);
            return copy;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Helm's merge of values: maps merge key by key, anything else replaces. */
    private static void merge(ObjectNode target, ObjectNode overrides) {
        Iterator<Map.Entry<String, JsonNode>> fields = overrides.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> field = fields.next();
            JsonNode existing = target.get(field.getKey());
            if (existing instanceof ObjectNode existingObject
                    && field.getValue() instanceof ObjectNode overrideObject) {
                merge(existingObject, overrideObject);
            } else {
                target.set(field.getKey(), field.getValue());
            }
        }
    }

    private static void deleteRecursively(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted((a, b) -> b.getNameCount() - a.getNameCount())
                    .forEach(path -> path.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path valuesDirectory() {
        try {
            return Path.of(Chart.class.getResource("/values").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The chart's appVersion, the default image tag. */
    static String appVersion() {
        try {
            return YAML.readTree(DIR.resolve("Chart.yaml").toFile())
                    .path("appVersion")
                    .asText();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A value of the chart's own values.yaml, by path ("/kafka/bootstrapServers"). */
    static JsonNode defaultValue(String pointer) {
        try {
            return YAML.readTree(DIR.resolve("values.yaml").toFile()).at(pointer);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Name of a service's resources in the rendered release. */
    static String fullname(String component) {
        return RELEASE + "-streamvision-" + component;
    }
}
