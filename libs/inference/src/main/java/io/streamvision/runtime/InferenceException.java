package io.streamvision.runtime;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.streamvision.proto.vision.v1.ReasonCode;

/**
 * A request the engine refuses or could not run; maps to a gRPC status and a dead-letter reason.
 */
public final class InferenceException extends Exception {

    /** What kind of failure, in gRPC terms. */
    public enum Kind {
        INVALID_ARGUMENT,
        NOT_FOUND,
        RESOURCE_EXHAUSTED,
        UNAVAILABLE,
        INTERNAL
    }

    private final Kind kind;
    private final ReasonCode reason;

    public InferenceException(Kind kind, ReasonCode reason, String message) {
        super(message);
        this.kind = kind;
        this.reason = reason;
    }

    public Kind kind() {
        return kind;
    }

    public ReasonCode reason() {
        return reason;
    }

    public static InferenceException invalid(String message) {
        return new InferenceException(Kind.INVALID_ARGUMENT, ReasonCode.INVALID_TENSOR, message);
    }

    /** The gRPC status for this failure, with its message. */
    public StatusRuntimeException toStatus() {
        Status status = switch (kind()) {
            case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
            case NOT_FOUND -> Status.NOT_FOUND;
            case RESOURCE_EXHAUSTED -> Status.RESOURCE_EXHAUSTED;
            case UNAVAILABLE -> Status.UNAVAILABLE;
            case INTERNAL -> Status.INTERNAL;
        };
        return status.withDescription(getMessage()).asRuntimeException();
    }
}
