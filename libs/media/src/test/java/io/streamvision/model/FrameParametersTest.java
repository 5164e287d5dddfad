package io.streamvision.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.streamvision.proto.inference.ModelInferRequest;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class FrameParametersTest {

    @Test
    void aFramesParametersRoundTripAndOtherRequestsAreNoFrames() {
        FrameParameters frame = new FrameParameters("video-7", 125, 5_000, 3);
        ModelInferRequest request =
                frame.putInto(ModelInferRequest.newBuilder().setModelName("m")).build();
        assertEquals(Optional.of(frame), FrameParameters.of(request));
        assertEquals(
                "video-7",
                request.getParametersOrThrow(FrameParameters.VIDEO_ID).getStringParam());
        assertTrue(FrameParameters.of(
                        ModelInferRequest.newBuilder().setId("image-1").build())
                .isEmpty());
    }
}
