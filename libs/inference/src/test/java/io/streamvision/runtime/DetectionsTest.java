package io.streamvision.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.streamvision.imaging.Placement;
import io.streamvision.model.ModelConfig;
import io.streamvision.proto.vision.v1.Detection;
import io.streamvision.proto.vision.v1.Label;
import java.util.List;
import org.junit.jupiter.api.Test;

class DetectionsTest {

    private static final List<String> LABELS = List.of("person", "bicycle", "dog");
    private static final ModelConfig.Detection SETTINGS = new ModelConfig.Detection(null, 0.3f, 0.5f, 3);

    @Test
    void letterboxedBoxesComeBackInThePixelsOfTheImageAsSent() {
        // 1000x500 letterboxed into 512x512: scaled to 512x256, 128 rows of padding above.
        Placement placement = new Placement(1000, 500, 0, 128, 512, 256);
        float[] rows = {100, 192, 200, 256, 0.9f, 2};
        List<Detection> found = Detections.decode(rows, SETTINGS, LABELS, placement, 512, 512);
        assertEquals(1, found.size());
        Detection dog = found.get(0);
        assertEquals("dog", dog.getLabel());
        assertEquals(2, dog.getIndex());
        assertEquals(100 * 1000 / 512.0, dog.getBox().getXMin(), 1e-3);
        assertEquals(64 * 500 / 256.0, dog.getBox().getYMin(), 1e-3);
        assertEquals(200 * 1000 / 512.0, dog.getBox().getXMax(), 1e-3);
        assertEquals(250, dog.getBox().getYMax(), 1e-3);
    }

    @Test
    void boxesReachingIntoThePaddingAreClippedToTheImage() {
        Placement placement = new Placement(1000, 500, 0, 128, 512, 256);
        float[] rows = {-5, 100, 530, 400, 0.8f, 0};
        Detection person =
                Detections.decode(rows, SETTINGS, LABELS, placement, 512, 512).get(0);
        assertEquals(0, person.getBox().getXMin(), 0);
        assertEquals(0, person.getBox().getYMin(), 0);
        assertEquals(1000, person.getBox().getXMax(), 0);
        assertEquals(500, person.getBox().getYMax(), 0);
    }

    @Test
    void overlappingBoxesOfOneClassAreSuppressedButOtherClassesKept() {
        float[] rows = {
            10, 10, 110, 110, 0.6f, 0, // person
            12, 12, 112, 112, 0.9f, 0, // the same person, higher score
            12, 12, 112, 112, 0.7f, 1, // a bicycle in the same place
            300, 300, 400, 400, 0.5f, 0, // another person
        };
        List<Detection> found = Detections.decode(rows, SETTINGS, LABELS, null, 512, 512);
        assertEquals(
                List.of(0.9f, 0.7f, 0.5f),
                found.stream().map(Detection::getScore).toList());
        assertEquals(
                List.of("person", "bicycle", "person"),
                found.stream().map(Detection::getLabel).toList());
    }

    @Test
    void keepsOnlyScoresAtTheThresholdAndAtMostMaxDetections() {
        float[] rows = {
            0, 0, 10, 10, 0.29f, 0,
            20, 20, 30, 30, 0.3f, 0,
            40, 40, 50, 50, 0.8f, 0,
            60, 60, 70, 70, 0.7f, 0,
            80, 80, 90, 90, 0.6f, 0,
        };
        List<Detection> found = Detections.decode(rows, SETTINGS, LABELS, null, 512, 512);
        assertEquals(
                List.of(0.8f, 0.7f, 0.6f),
                found.stream().map(Detection::getScore).toList());
        ModelConfig.Detection lenient = new ModelConfig.Detection(null, 0.3f, 0.5f, 10);
        assertEquals(4, Detections.decode(rows, lenient, LABELS, null, 512, 512).size());
    }

    @Test
    void eachDetectedClassIsListedOnceWithItsBestScore() {
        float[] rows = {
            0, 0, 10, 10, 0.5f, 2,
            100, 100, 110, 110, 0.95f, 0,
            200, 200, 210, 210, 0.8f, 2,
        };
        List<Detection> found =
                Detections.decode(rows, new ModelConfig.Detection(null, 0.3f, 0.5f, 20), LABELS, null, 512, 512);
        List<Label> classes = Detections.classes(found, 5);
        assertEquals(
                List.of("person", "dog"), classes.stream().map(Label::getLabel).toList());
        assertEquals(0.8f, classes.get(1).getProbability(), 0);
    }
}
