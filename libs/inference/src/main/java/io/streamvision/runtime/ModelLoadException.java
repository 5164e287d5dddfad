package io.streamvision.runtime;

/** A model version that cannot be loaded; the message names the model, tensor and mismatch. */
public final class ModelLoadException extends RuntimeException {

    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
