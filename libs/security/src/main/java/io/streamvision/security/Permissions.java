package io.streamvision.security;

import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Which group each endpoint needs, for gRPC methods and HTTP paths alike. Empty means public:
 * health and metrics for the kubelet and Prometheus, and the standard gRPC health service.
 * Anything not listed needs {@link Group#ADMIN}, so a new endpoint is closed until it is placed.
 */
public final class Permissions {

    private static final Set<String> GRPC_INFERENCE = Set.of(
            "inference.GRPCInferenceService/ModelInfer",
            "inference.GRPCInferenceService/ModelStreamInfer",
            "vision.v1.ScoringService/Classify",
            "vision.v1.CaptioningService/Caption",
            "vision.v1.CaptioningService/Describe",
            "vision.v1.CaptioningService/GetVideoSummary",
            "vision.v1.VisionService/Classify",
            "vision.v1.VisionService/Caption",
            "vision.v1.VisionService/Describe",
            "vision.v1.VisionService/GetVideoSummary");

    private static final Set<String> GRPC_METADATA = Set.of(
            "inference.GRPCInferenceService/ServerLive",
            "inference.GRPCInferenceService/ServerReady",
            "inference.GRPCInferenceService/ModelReady",
            "inference.GRPCInferenceService/ServerMetadata",
            "inference.GRPCInferenceService/ModelMetadata",
            "inference.GRPCInferenceService/ModelConfig",
            "inference.GRPCInferenceService/ModelStatistics",
            "inference.GRPCInferenceService/RepositoryIndex");

    private static final Pattern REST_INFER = Pattern.compile("/v2/models/[^/]+(/versions/[^/]+)?/infer/?");
    private static final Pattern REST_METADATA = Pattern.compile("/v2/?|/v2/health/(live|ready)/?"
            + "|/v2/models/[^/]+(/versions/[^/]+)?(/ready|/config)?/?"
            + "|/v2/models(/[^/]+(/versions/[^/]+)?)?/stats/?|/v2/repository/index/?");

    /** Reading rollouts is metadata; changing them (PUT, DELETE, promote, rollback) is admin. */
    private static final Pattern REST_ROLLOUTS = Pattern.compile("/v2/rollouts/?|/v2/models/[^/]+/rollout/?");

    private Permissions() {}

    /** The group a gRPC method ({@code package.Service/Method}) needs; empty if public. */
    public static Optional<Group> forGrpc(String fullMethodName) {
        if (fullMethodName.startsWith("grpc.health.v1.Health/")) {
            return Optional.empty();
        }
        if (GRPC_INFERENCE.contains(fullMethodName)) {
            return Optional.of(Group.INFERENCE);
        }
        if (GRPC_METADATA.contains(fullMethodName) || fullMethodName.startsWith("grpc.reflection.")) {
            return Optional.of(Group.METADATA);
        }
        return Optional.of(Group.ADMIN);
    }

    /** The group an HTTP request needs; empty if public. */
    public static Optional<Group> forHttp(String method, String path) {
        if (path.equals("/q/health") || path.startsWith("/q/health/") || path.equals("/q/metrics")) {
            return Optional.empty();
        }
        if (REST_INFER.matcher(path).matches()
                || path.startsWith("/videos/")
                || path.equals("/")
                || path.equals("/index.html")
                || path.startsWith("/console/")) {
            return Optional.of(Group.INFERENCE);
        }
        if (REST_METADATA.matcher(path).matches()
                || ("GET".equalsIgnoreCase(method)
                        && REST_ROLLOUTS.matcher(path).matches())) {
            return Optional.of(Group.METADATA);
        }
        return Optional.of(Group.ADMIN);
    }
}
