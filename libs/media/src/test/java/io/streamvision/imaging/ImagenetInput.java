package io.streamvision.imaging;

import io.streamvision.model.ModelConfig;

/**
 * The ImageNet input of the README's ResNet-50 (torchvision's {@code Resize(256)},
 * {@code CenterCrop(224)}, {@code Normalize}), for the tests and benchmarks that compare with
 * torchvision.
 */
public final class ImagenetInput {

    public static final float[] MEAN = {0.485f, 0.456f, 0.406f};
    public static final float[] STD = {0.229f, 0.224f, 0.225f};

    private ImagenetInput() {}

    /** The input spec, with the given colour management ({@code null}: the default). */
    public static ModelConfig.TensorSpec spec(String colourManagement) {
        return new ModelConfig.TensorSpec(
                "input",
                "FP32",
                new long[] {-1, 3, 224, 224},
                "NCHW",
                "RGB",
                new ModelConfig.Resize("shorter-side-crop", 224, 224, 256, null),
                255.0,
                MEAN,
                STD,
                false,
                null,
                colourManagement);
    }
}
