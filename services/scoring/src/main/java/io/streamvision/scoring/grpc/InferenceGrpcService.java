package io.streamvision.scoring.grpc;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.streamvision.model.ModelConfig;
import io.streamvision.proto.inference.GRPCInferenceServiceGrpc;
import io.streamvision.proto.inference.ModelConfigRequest;
import io.streamvision.proto.inference.ModelConfigResponse;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.proto.inference.ModelMetadataRequest;
import io.streamvision.proto.inference.ModelMetadataResponse;
import io.streamvision.proto.inference.ModelReadyRequest;
import io.streamvision.proto.inference.ModelReadyResponse;
import io.streamvision.proto.inference.ModelStatisticsRequest;
import io.streamvision.proto.inference.ModelStatisticsResponse;
import io.streamvision.proto.inference.ModelStreamInferResponse;
import io.streamvision.proto.inference.RepositoryIndexRequest;
import io.streamvision.proto.inference.RepositoryIndexResponse;
import io.streamvision.proto.inference.RepositoryModelLoadRequest;
import io.streamvision.proto.inference.RepositoryModelLoadResponse;
import io.streamvision.proto.inference.RepositoryModelUnloadRequest;
import io.streamvision.proto.inference.RepositoryModelUnloadResponse;
import io.streamvision.proto.inference.ServerLiveRequest;
import io.streamvision.proto.inference.ServerLiveResponse;
import io.streamvision.proto.inference.ServerMetadataRequest;
import io.streamvision.proto.inference.ServerMetadataResponse;
import io.streamvision.proto.inference.ServerReadyRequest;
import io.streamvision.proto.inference.ServerReadyResponse;
import io.streamvision.runtime.DynamicBatcher;
import io.streamvision.runtime.InferenceEngine;
import io.streamvision.runtime.ServedModels;
import io.streamvision.scoring.ServerInfo;
import io.streamvision.scoring.triton.TritonFileOverride;
import io.streamvision.scoring.triton.TritonModelConfig;
import io.streamvision.scoring.triton.TritonRepository;
import io.streamvision.scoring.triton.TritonStatistics;
import jakarta.inject.Inject;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The Open Inference Protocol ({@code inference.GRPCInferenceService}) over gRPC, wire compatible
 * with Triton and KServe clients. Errors are gRPC statuses whose message names the tensor and what
 * is wrong. Every method runs on the gRPC event loop without blocking: inference requests go to the
 * model's batcher and are answered when their batch is done.
 */
@GrpcService
public class InferenceGrpcService extends GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase {

    @Inject
    ServedModels models;

    @Inject
    DynamicBatcher batcher;

    @Override
    public void serverLive(ServerLiveRequest request, StreamObserver<ServerLiveResponse> response) {
        response.onNext(ServerLiveResponse.newBuilder().setLive(true).build());
        response.onCompleted();
    }

    @Override
    public void serverReady(ServerReadyRequest request, StreamObserver<ServerReadyResponse> response) {
        response.onNext(
                ServerReadyResponse.newBuilder().setReady(models.ready()).build());
        response.onCompleted();
    }

    @Override
    public void serverMetadata(ServerMetadataRequest request, StreamObserver<ServerMetadataResponse> response) {
        response.onNext(ServerMetadataResponse.newBuilder()
                .setName(ServerInfo.NAME)
                .setVersion(ServerInfo.VERSION)
                .addExtensions("model_repository")
                .addExtensions("model_configuration")
                .addExtensions("statistics")
                .build());
        response.onCompleted();
    }

    @Override
    public void modelReady(ModelReadyRequest request, StreamObserver<ModelReadyResponse> response) {
        boolean ready = models.registry()
                .withModel(request.getName(), request.getVersion(), m -> true)
                .isPresent();
        response.onNext(ModelReadyResponse.newBuilder().setReady(ready).build());
        response.onCompleted();
    }

    @Override
    public void modelMetadata(ModelMetadataRequest request, StreamObserver<ModelMetadataResponse> response) {
        answer(
                models.registry().withModel(request.getName(), request.getVersion(), model -> {
                    ModelConfig config = model.config();
                    ModelMetadataResponse.Builder meta = ModelMetadataResponse.newBuilder()
                            .setName(config.name())
                            .addVersions(Integer.toString(config.version()))
                            .setPlatform(config.platform());
                    config.inputs().forEach(t -> meta.addInputs(tensor(t)));
                    config.outputs().forEach(t -> meta.addOutputs(tensor(t)));
                    return meta.build();
                }),
                request.getName(),
                request.getVersion(),
                response);
    }

    /** Sends {@code answer}, or NOT_FOUND when the model (version) is not served. */
    private <T> void answer(Optional<T> answer, String name, String version, StreamObserver<T> response) {
        if (answer.isEmpty()) {
            response.onError(notFound(name, version));
            return;
        }
        response.onNext(answer.get());
        response.onCompleted();
    }

    /** Triton's model configuration extension: the served version's configuration. */
    @Override
    public void modelConfig(ModelConfigRequest request, StreamObserver<ModelConfigResponse> response) {
        answer(
                models.registry()
                        .withModel(
                                request.getName(),
                                request.getVersion(),
                                model -> ModelConfigResponse.newBuilder()
                                        .setConfig(TritonModelConfig.of(model))
                                        .build()),
                request.getName(),
                request.getVersion(),
                response);
    }

    /** Triton's statistics extension: cumulative counts and durations per model version. */
    @Override
    public void modelStatistics(ModelStatisticsRequest request, StreamObserver<ModelStatisticsResponse> response) {
        Optional<ModelStatisticsResponse> stats =
                TritonStatistics.of(batcher.statistics(), models.registry(), request.getName(), request.getVersion());
        if (stats.isEmpty()) {
            response.onError(notFound(request.getName(), request.getVersion()));
            return;
        }
        response.onNext(stats.get());
        response.onCompleted();
    }

    /** Triton's model repository extension: every model version of the repository and its state. */
    @Override
    public void repositoryIndex(RepositoryIndexRequest request, StreamObserver<RepositoryIndexResponse> response) {
        response.onNext(TritonRepository.index(models.registry(), request.getReady()));
        response.onCompleted();
    }

    /**
     * Triton's model repository extension, explicit model control only: loads (or reloads) a
     * model's newest version. Runs on a worker thread: loading reads and warms up the model.
     */
    @Override
    @io.smallrye.common.annotation.Blocking
    public void repositoryModelLoad(
            RepositoryModelLoadRequest request, StreamObserver<RepositoryModelLoadResponse> response) {
        try {
            java.util.Map<String, String> parameters = new java.util.HashMap<>();
            java.util.Map<String, byte[]> files = new java.util.HashMap<>();
            request.getParametersMap().forEach((k, v) -> {
                if (k.startsWith(TritonFileOverride.PREFIX)) {
                    files.put(
                            k.substring(TritonFileOverride.PREFIX.length()),
                            v.hasBytesParam()
                                    ? v.getBytesParam().toByteArray()
                                    : v.getStringParam().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                } else {
                    parameters.put(
                            k,
                            v.hasStringParam()
                                    ? v.getStringParam()
                                    : v.hasBytesParam() ? v.getBytesParam().toStringUtf8() : String.valueOf(v));
                }
            });
            TritonRepository.load(models, request.getModelName(), parameters, files);
            response.onNext(RepositoryModelLoadResponse.getDefaultInstance());
            response.onCompleted();
        } catch (TritonRepository.RefusedException e) {
            response.onError(status(e).withDescription(e.getMessage()).asRuntimeException());
        }
    }

    /**
     * Triton's model repository extension, explicit model control only: stops serving a model once
     * its queue is empty (requests running on it finish).
     */
    @Override
    @io.smallrye.common.annotation.Blocking
    public void repositoryModelUnload(
            RepositoryModelUnloadRequest request, StreamObserver<RepositoryModelUnloadResponse> response) {
        try {
            TritonRepository.unload(models, batcher, request.getModelName());
            response.onNext(RepositoryModelUnloadResponse.getDefaultInstance());
            response.onCompleted();
        } catch (TritonRepository.RefusedException e) {
            response.onError(status(e).withDescription(e.getMessage()).asRuntimeException());
        }
    }

    private static Status status(TritonRepository.RefusedException e) {
        return switch (e.kind()) {
            case NOT_FOUND -> Status.NOT_FOUND;
            case INVALID -> Status.INVALID_ARGUMENT;
            case NOT_ALLOWED -> Status.FAILED_PRECONDITION;
            case FAILED -> Status.INTERNAL;
        };
    }

    private static ModelMetadataResponse.TensorMetadata tensor(ModelConfig.TensorSpec spec) {
        ModelMetadataResponse.TensorMetadata.Builder t = ModelMetadataResponse.TensorMetadata.newBuilder()
                .setName(spec.name())
                .setDatatype(spec.datatype());
        for (long d : spec.shape()) {
            t.addShape(d);
        }
        return t.build();
    }

    @Override
    public void modelInfer(ModelInferRequest request, StreamObserver<ModelInferResponse> response) {
        infer(request).whenComplete((outcome, failure) -> {
            if (failure != null) {
                response.onError(Status.INTERNAL
                        .withDescription(String.valueOf(failure.getMessage()))
                        .asRuntimeException());
            } else if (!outcome.ok()) {
                response.onError(outcome.error().toStatus());
            } else {
                response.onNext(outcome.response());
                response.onCompleted();
            }
        });
    }

    @Override
    public StreamObserver<ModelInferRequest> modelStreamInfer(StreamObserver<ModelStreamInferResponse> response) {
        return new StreamObserver<>() {
            /** Completes when every request received so far has been answered. */
            private CompletableFuture<?> answered = CompletableFuture.completedFuture(null);

            @Override
            public void onNext(ModelInferRequest request) {
                CompletableFuture<?> answer = infer(request).whenComplete((outcome, failure) -> {
                    ModelStreamInferResponse.Builder out = ModelStreamInferResponse.newBuilder();
                    if (failure != null) {
                        out.setErrorMessage("INTERNAL: " + failure.getMessage());
                    } else if (!outcome.ok()) {
                        out.setErrorMessage(
                                outcome.error().kind() + ": " + outcome.error().getMessage());
                    } else {
                        out.setInferResponse(outcome.response());
                    }
                    synchronized (response) {
                        response.onNext(out.build());
                    }
                });
                synchronized (this) {
                    answered = CompletableFuture.allOf(answered, answer);
                }
            }

            @Override
            public void onError(Throwable t) {
                // The client went away; nothing to answer.
            }

            @Override
            public void onCompleted() {
                CompletableFuture<?> all;
                synchronized (this) {
                    all = answered;
                }
                // The stream ends after the answers to every request, which come from the batcher.
                all.whenComplete((ignored, failure) -> {
                    synchronized (response) {
                        response.onCompleted();
                    }
                });
            }
        };
    }

    /**
     * Queues one request for the served model's batcher. The call returns at once and the answer is
     * sent from the batcher's thread, so no gRPC or worker thread waits for the batch.
     */
    CompletableFuture<InferenceEngine.Outcome> infer(ModelInferRequest request) {
        return batcher.submit(request);
    }

    private RuntimeException notFound(String name, String version) {
        return Status.NOT_FOUND
                .withDescription(models.registry().notServed(name, version))
                .asRuntimeException();
    }
}
