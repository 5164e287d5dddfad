package io.streamvision.helm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The Kubernetes objects of one rendering, parsed from Helm's multi-document YAML, with look-ups by
 * kind, name and service. Immutable.
 */
record Manifests(List<JsonNode> objects) {

    private static final YAMLMapper YAML = new YAMLMapper();

    static Manifests parse(String yaml) {
        try (MappingIterator<JsonNode> documents =
                YAML.readerFor(JsonNode.class).readValues(yaml)) {
            List<JsonNode> objects = new ArrayList<>();
            while (documents.hasNext()) {
                JsonNode document = documents.next();
                if (document != null && document.isObject() && document.has("kind")) {
                    objects.add(document);
                }
            }
            return new Manifests(List.copyOf(objects));
        } catch (IOException e) {
            throw new UncheckedIOException("rendered YAML does not parse", e);
        }
    }

    List<JsonNode> ofKind(String kind) {
        return objects.stream()
                .filter(o -> kind.equals(o.path("kind").asText()))
                .toList();
    }

    Optional<JsonNode> find(String kind, String name) {
        return ofKind(kind).stream()
                .filter(o -> name.equals(o.at("/metadata/name").asText()))
                .findFirst();
    }

    JsonNode get(String kind, String name) {
        return find(kind, name).orElseGet(() -> fail("no " + kind + " " + name + " in " + kindCounts()));
    }

    /** How many objects of each kind, sorted by kind. */
    Map<String, Integer> kindCounts() {
        Map<String, Integer> counts = new TreeMap<>();
        objects.forEach(o -> counts.merge(o.path("kind").asText(), 1, Integer::sum));
        return counts;
    }

    /** The one object of a kind that carries the label app.kubernetes.io/component=component. */
    JsonNode ofComponent(String kind, String component) {
        List<JsonNode> found = ofKind(kind).stream()
                .filter(o -> component.equals(
                        o.at("/metadata/labels/app.kubernetes.io~1component").asText()))
                .toList();
        assertEquals(1, found.size(), () -> kind + " objects of " + component);
        return found.get(0);
    }

    JsonNode deployment(String component) {
        return ofComponent("Deployment", component);
    }

    JsonNode podSpec(String component) {
        return deployment(component).at("/spec/template/spec");
    }

    /** The service's own container (named after the service). */
    JsonNode container(String component) {
        for (JsonNode container : podSpec(component).path("containers")) {
            if (component.equals(container.path("name").asText())) {
                return container;
            }
        }
        return fail("no container " + component);
    }

    /** The data of the service's ConfigMap. */
    Map<String, String> config(String component) {
        Map<String, String> data = new LinkedHashMap<>();
        ofComponent("ConfigMap", component)
                .path("data")
                .fields()
                .forEachRemaining(e -> data.put(e.getKey(), e.getValue().asText()));
        return data;
    }

    /** The container's env entries by name, in order. */
    Map<String, JsonNode> env(String component) {
        Map<String, JsonNode> env = new LinkedHashMap<>();
        container(component).path("env").forEach(e -> env.put(e.path("name").asText(), e));
        return env;
    }

    /** A container port by name. */
    int containerPort(String component, String name) {
        for (JsonNode port : container(component).path("ports")) {
            if (name.equals(port.path("name").asText())) {
                return port.path("containerPort").asInt();
            }
        }
        return fail(component + " has no container port " + name);
    }

    /** A volume of the service's pod by name. */
    JsonNode volume(String component, String name) {
        for (JsonNode volume : podSpec(component).path("volumes")) {
            if (name.equals(volume.path("name").asText())) {
                return volume;
            }
        }
        return fail(component + " has no volume " + name);
    }

    /** A volume mount of the service's container by volume name. */
    JsonNode volumeMount(String component, String name) {
        for (JsonNode mount : container(component).path("volumeMounts")) {
            if (name.equals(mount.path("name").asText())) {
                return mount;
            }
        }
        return fail(component + " does not mount " + name);
    }

    /** Asserts that {@code component} mounts Secret {@code secret}, read-only, as volume {@code volume} at {@code path}. */
    void assertSecretMount(String component, String volume, String secret, String path) {
        assertEquals(secret, volume(component, volume).at("/secret/secretName").asText(), component + " " + volume);
        JsonNode mount = volumeMount(component, volume);
        assertEquals(path, mount.path("mountPath").asText(), component + " " + volume);
        assertEquals(true, mount.path("readOnly").asBoolean(), component + " " + volume + " read-only");
    }

    /** Asserts that every label of {@code selector} is on {@code labels} with the same value. */
    static void assertSelects(JsonNode selector, JsonNode labels, String what) {
        if (selector.size() == 0) {
            fail(what + ": empty selector");
        }
        selector.fields()
                .forEachRemaining(e -> assertEquals(
                        e.getValue().asText(), labels.path(e.getKey()).asText(null), what + ": label " + e.getKey()));
    }

    /** True when every label of {@code selector} is on {@code labels} with the same value. */
    static boolean selects(JsonNode selector, JsonNode labels) {
        boolean[] all = {selector.size() > 0};
        selector.fields()
                .forEachRemaining(e -> all[0] &=
                        e.getValue().asText().equals(labels.path(e.getKey()).asText(null)));
        return all[0];
    }
}
