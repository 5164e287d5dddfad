package io.streamvision.helm;

import static io.streamvision.helm.Chart.COMPONENTS;
import static io.streamvision.helm.Chart.chart;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

/** The model repository: copied out of an image by an init container, or an existing PVC. */
class ModelsVolumeTest {

    @Test
    void initContainerCopiesTheModelsImageIntoAnEmptyDir() {
        Manifests rendered = chart().set("models.image.tag", "2024-06").render();

        for (String component : COMPONENTS) {
            JsonNode volume = rendered.volume(component, "models");
            assertTrue(volume.has("emptyDir"), component);
            JsonNode init = rendered.podSpec(component).at("/initContainers/0");
            assertEquals(
                    "docker.io/streamvision/models:2024-06", init.path("image").asText());
            assertEquals("cp -R /models/. /mnt/models/", init.at("/command/2").asText());
            assertEquals("models", init.at("/volumeMounts/0/name").asText());
            assertEquals("/mnt/models", init.at("/volumeMounts/0/mountPath").asText());
            assertTrue(init.at("/securityContext/readOnlyRootFilesystem").asBoolean());

            JsonNode mount = rendered.volumeMount(component, "models");
            assertEquals("/models", mount.path("mountPath").asText());
            assertTrue(mount.path("readOnly").asBoolean());
            assertEquals("/models", rendered.config(component).get("VISION_MODELS_DIR"));
        }
    }

    @Test
    void existingClaimIsMountedReadOnlyWithoutInitContainer() {
        Manifests rendered = chart().values("models-pvc.yaml").render();

        for (String component : COMPONENTS) {
            assertTrue(rendered.podSpec(component).path("initContainers").isMissingNode(), component);
            JsonNode volume = rendered.volume(component, "models");
            assertEquals(
                    "vision-models",
                    volume.at("/persistentVolumeClaim/claimName").asText());
            assertTrue(volume.at("/persistentVolumeClaim/readOnly").asBoolean());
            assertFalse(volume.has("emptyDir"));

            JsonNode mount = rendered.volumeMount(component, "models");
            assertEquals("/srv/models", mount.path("mountPath").asText());
            assertEquals("repository", mount.path("subPath").asText());
            assertTrue(mount.path("readOnly").asBoolean());
            assertEquals("/srv/models", rendered.config(component).get("VISION_MODELS_DIR"));
        }
    }
}
