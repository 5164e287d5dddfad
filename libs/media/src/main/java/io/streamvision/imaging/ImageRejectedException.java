package io.streamvision.imaging;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
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

    /**
     * The gRPC status for this rejection: RESOURCE_EXHAUSTED for size limits, else
     * INVALID_ARGUMENT.
     */
    public StatusRuntimeException toStatus() {
        Status status = switch (reason) {
            case TOO_LARGE, DIMENSIONS_EXCEEDED -> Status.RESOURCE_EXHAUSTED;
            default -> Status.INVALID_ARGUMENT;
        };
        return status.withDescription(reason + ": " + getMessage()).asRuntimeException();
    }
}
