package io.streamvision.preprocess;

import io.streamvision.imaging.ImageRejectedException;
import io.streamvision.imaging.RgbImage;
import io.streamvision.imaging.TensorPreparer;
import io.streamvision.model.ModelCatalog;
import io.streamvision.model.ModelConfig;
import io.streamvision.proto.vision.v1.ReasonCode;
import java.util.List;
import java.util.Optional;

/**
 * The image models the preprocess stages write tensors for: the ones a request names, or the
 * service's defaults ({@code vision.preprocess.default-models}) when it names none, each looked up
 * in the model catalog, and the tensor each takes. The image path and the video stages resolve
 * models and prepare tensors here, so both refuse an unknown model or one without an image input
 * with the same reason and message, and both honour {@code prefer-uint8}. Thread-safe (the
 * catalog is).
 */
public final class ImageModels {

    private final ModelCatalog catalog;
    private final List<String> defaults;
    private final boolean preferUint8;

    /**
     * @param preferUint8 {@code vision.preprocess.images.prefer-uint8}: write UINT8 tensors for models
     *     that accept them (see {@link TensorPreparer#prepare})
     */
    public ImageModels(ModelCatalog catalog, List<String> defaults, boolean preferUint8) {
        this.catalog = catalog;
        this.defaults = List.copyOf(defaults);
        this.preferUint8 = preferUint8;
    }

    /** The models a request names, or the defaults when it names none. */
    public List<String> requested(List<String> named) {
        return named.isEmpty() ? defaults : named;
    }

    /** The newest config of a model, image model or not. */
    public Optional<ModelConfig> latest(String name) {
        return catalog.latest(name);
    }

    /**
     * The newest config of an image model.
     *
     * @throws ImageRejectedException UNKNOWN_MODEL when the repository does not have it (the
     *     message lists the models it has), BAD_REQUEST when the model takes no image input
     */
    public ModelConfig resolve(String name) throws ImageRejectedException {
        ModelConfig config = catalog.latest(name)
                .orElseThrow(() -> new ImageRejectedException(
                        ReasonCode.UNKNOWN_MODEL,
                        "model '" + name + "' is not in the model repository (known: "
                                + catalog.all().keySet() + ")"));
        if (config.imageInput() == null) {
            throw new ImageRejectedException(
                    ReasonCode.BAD_REQUEST, "model '" + name + "' does not take an image input");
        }
        return config;
    }

    /** The tensor a model's image input takes, from a decoded image, in the datatype the service prefers. */
    public TensorPreparer.PreparedTensor tensor(RgbImage image, ModelConfig config) throws ImageRejectedException {
        return TensorPreparer.prepare(image, config.imageInput(), preferUint8);
    }
}
