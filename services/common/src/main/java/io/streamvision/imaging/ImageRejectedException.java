package io.streamvision.imaging;

import io.streamvision.proto.vision.v1.ReasonCode;

/** An input image the pipeline refuses, with the dead-letter reason code to report. */
public final class ImageRejectedException extends Exception {

    private final ReasonCode reason;

    public ImageRejectedException(ReasonCode reason, String message) {
        super(message);
        this.reason = reason;
    }

    public ImageRejectedException(ReasonCode reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public ReasonCode reason() {
        return reason;
    }
}
