package io.streamvision.scoring.grpc;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import io.streamvision.imaging.ImageDecoder;
import io.streamvision.imaging.ImageRejectedException;
import io.streamvision.imaging.RgbImage;
import io.streamvision.imaging.TensorPreparer;
import io.streamvision.model.ModelConfig;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.vision.v1.Classification;
import io.streamvision.proto.vision.v1.ClassifyRequest;
import io.streamvision.proto.vision.v1.ClassifyResponse;
import io.streamvision.proto.vision.v1.ScoringServiceGrpc;
import io.streamvision.runtime.Classifications;
import io.streamvision.runtime.DynamicBatcher;
import io.streamvision.runtime.InferenceEngine;
import io.streamvision.runtime.LoadedModel;
import io.streamvision.runtime.ServedModels;
import io.streamvision.scoring.ScoringConfig;
import jakarta.inject.Inject;

/**
 * {@code vision.v1.ScoringService/Classify} (and, through {@link ScoringVisionServiceV1}, {@code
 * vision.v1.VisionService/Classify}): image bytes in, top-k labels (or, from a detection
 * model, the objects found, in the image's pixels) out. Decoding, resizing
 * and normalising use the same shared code as the preprocess service, and the tensor goes through
 * the same dynamic batcher as the Kafka path, so both paths give identical answers for the same
 * image.
 */
@GrpcService
@Blocking
public class ClassifyGrpcService extends ScoringServiceGrpc.ScoringServiceImplBase {

    @Inject
    ServedModels models;

    @Inject
    DynamicBatcher batcher;

    @Inject
    ScoringConfig config;

    private volatile ImageDecoder decoder;

    private ImageDecoder decoder() {
        if (decoder == null) {
            decoder = config.images().decoder();
        }
        return decoder;
    }

    @Override
    public void classify(ClassifyRequest request, StreamObserver<ClassifyResponse> response) {
        LoadedModel model = models.registry().current(request.getModelName());
        if (model == null) {
            response.onError(Status.NOT_FOUND
                    .withDescription(models.registry().notServed(request.getModelName(), ""))
                    .asRuntimeException());
            return;
        }
        ModelConfig modelConfig = model.config();
        ModelConfig.TensorSpec input = modelConfig.imageInput();
        if (input == null
                || (modelConfig.output("logits") == null
                        && modelConfig.output("probabilities") == null
                        && modelConfig.output("detections") == null)) {
            response.onError(Status.INVALID_ARGUMENT
                    .withDescription(
                            "model '" + request.getModelName() + "' is neither an image classifier nor a detector")
                    .asRuntimeException());
            return;
        }
        TensorPreparer.PreparedTensor tensor;
        try {
            RgbImage image = decoder().decode(request.getImage().toByteArray(), input.colours());
            tensor = TensorPreparer.prepare(image, input, config.images().preferUint8());
        } catch (ImageRejectedException e) {
            response.onError(e.toStatus());
            return;
        }
        ModelInferRequest.Builder infer =
                tensor.toInferRequest(request.getRequestId(), modelConfig).setModelVersion(request.getModelVersion());
        ModelInferRequest built = infer.build();
        InferenceEngine.Outcome outcome = batcher.submit(built).join();
        if (!outcome.ok()) {
            response.onError(outcome.error().toStatus());
            return;
        }
        int k = request.getTopK() > 0 ? request.getTopK() : config.topK();
        Classification classification = Classifications.fromResponse(outcome.model(), built, outcome.response(), k);
        response.onNext(
                ClassifyResponse.newBuilder().setClassification(classification).build());
        response.onCompleted();
    }
}
