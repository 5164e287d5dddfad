package io.streamvision.captioning.grpc;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import io.streamvision.captioning.CaptioningConfig;
import io.streamvision.captioning.decode.Captioner;
import io.streamvision.captioning.kafka.CaptioningLoop;
import io.streamvision.captioning.queries.VideoSummaries;
import io.streamvision.imaging.ImageDecoder;
import io.streamvision.imaging.ImageRejectedException;
import io.streamvision.imaging.TensorPreparer;
import io.streamvision.model.ModelConfig;
import io.streamvision.proto.inference.GRPCInferenceServiceGrpc;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.proto.vision.v1.Caption;
import io.streamvision.proto.vision.v1.CaptionRequest;
import io.streamvision.proto.vision.v1.CaptionResponse;
import io.streamvision.proto.vision.v1.CaptioningServiceGrpc;
import io.streamvision.proto.vision.v1.ClassifyRequest;
import io.streamvision.proto.vision.v1.DescribeRequest;
import io.streamvision.proto.vision.v1.DescribeResponse;
import io.streamvision.proto.vision.v1.GetVideoSummaryRequest;
import io.streamvision.proto.vision.v1.GetVideoSummaryResponse;
import io.streamvision.proto.vision.v1.VisionServiceGrpc;
import io.streamvision.runtime.Tensors;
import io.streamvision.tracing.RecordTracing;
import jakarta.inject.Inject;
import java.util.List;

/**
 * {@code vision.v1.CaptioningService/Caption} and {@code Describe} (also under {@code
 * vision.v1.VisionService}, through {@link CaptioningVisionServiceV1}): the image is decoded and prepared
 * here with the shared library (the same code as the preprocess service), the caption encoder runs
 * in the scoring service over the Open Inference Protocol, and the decoder runs here. Describe also
 * asks the scoring service's Classify for labels. The caller's deadline travels with the calls to
 * the scoring service. GetVideoSummary answers from the video summaries store (see {@link
 * VideoSummaries}).
 */
@GrpcService
@Blocking
public class CaptionGrpcService extends CaptioningServiceGrpc.CaptioningServiceImplBase {

    @Inject
    Captioner captioner;

    @Inject
    RecordTracing tracing;

    @Inject
    CaptioningConfig config;

    @GrpcClient("scoring")
    GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub inference;

    /**
     * Scoring's Classify under the name version 1 published, which every scoring release answers,
     * so that Describe keeps working during a rolling upgrade in either order.
     */
    @GrpcClient("scoring")
    VisionServiceGrpc.VisionServiceBlockingStub scoringVision;

    @Inject
    VideoSummaries videoSummaries;

    private volatile ImageDecoder decoder;

    @Override
    public void getVideoSummary(GetVideoSummaryRequest request, StreamObserver<GetVideoSummaryResponse> response) {
        if (request.getVideoId().isEmpty()) {
            response.onError(
                    Status.INVALID_ARGUMENT.withDescription("video_id is empty").asRuntimeException());
            return;
        }
        try {
            var summary = videoSummaries.find(request.getVideoId());
            if (summary.isEmpty()) {
                response.onError(Status.NOT_FOUND
                        .withDescription(
                                "no video '" + request.getVideoId() + "': none of its frames has been aggregated")
                        .asRuntimeException());
                return;
            }
            response.onNext(GetVideoSummaryResponse.newBuilder()
                    .setSummary(summary.get())
                    .build());
            response.onCompleted();
        } catch (VideoSummaries.UnavailableException e) {
            response.onError(Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException());
        }
    }

    @Override
    public void caption(CaptionRequest request, StreamObserver<CaptionResponse> response) {
        try {
            Caption caption = caption(request.getRequestId(), request.getImage(), request.getBeamWidth());
            response.onNext(CaptionResponse.newBuilder().setCaption(caption).build());
            response.onCompleted();
        } catch (StatusRuntimeException e) {
            response.onError(e);
        }
    }

    @Override
    public void describe(DescribeRequest request, StreamObserver<DescribeResponse> response) {
        try {
            Caption caption = caption(request.getRequestId(), request.getImage(), request.getBeamWidth());
            String classifier =
                    request.getClassifier().isEmpty() ? config.describeClassifier() : request.getClassifier();
            var classification = scoringVision
                    .classify(ClassifyRequest.newBuilder()
                            .setRequestId(request.getRequestId())
                            .setImage(request.getImage())
                            .setModelName(classifier)
                            .setTopK(request.getTopK() > 0 ? request.getTopK() : config.topK())
                            .build())
                    .getClassification();
            response.onNext(DescribeResponse.newBuilder()
                    .setCaption(caption)
                    .setClassification(classification)
                    .build());
            response.onCompleted();
        } catch (StatusRuntimeException e) {
            response.onError(e.getStatus()
                    .withDescription("scoring service: " + e.getStatus().getDescription())
                    .asRuntimeException());
        }
    }

    private Caption caption(String requestId, ByteString image, int beamWidth) {
        if (!captioner.ready()) {
            throw Status.UNAVAILABLE
                    .withDescription("the caption decoder is still loading")
                    .asRuntimeException();
        }
        ModelConfig encoder = captioner.encoderConfig();
        if (encoder == null || encoder.imageInput() == null) {
            throw Status.FAILED_PRECONDITION
                    .withDescription(
                            "the caption encoder '" + captioner.encoderName() + "' is not in the model repository")
                    .asRuntimeException();
        }
        TensorPreparer.PreparedTensor tensor;
        try {
            tensor = TensorPreparer.prepare(
                    decoder().decode(image.toByteArray(), encoder.imageInput().colours()),
                    encoder.imageInput(),
                    config.images().preferUint8());
        } catch (ImageRejectedException e) {
            throw e.toStatus();
        }
        String featuresOutput = encoder.output("features").name();
        // No version: the scoring service answers with the version it serves.
        ModelInferRequest.Builder infer =
                tensor.toInferRequest(requestId, encoder).setModelVersion("");
        infer.addOutputsBuilder().setName(featuresOutput);
        ModelInferResponse features;
        try {
            features = inference.modelInfer(infer.build());
        } catch (StatusRuntimeException e) {
            throw e.getStatus()
                    .withDescription("scoring service, model "
                            + encoder.name()
                            + ": "
                            + e.getStatus().getDescription())
                    .asRuntimeException();
        }
        float[] vector = Tensors.floats(features.getRawOutputContents(0));
        int width = beamWidth > 0 ? beamWidth : config.beamWidth();
        Span search = tracing.span("decode search").setAttribute("beam.width", width);
        try {
            return CaptioningLoop.withRequest(
                    captioner
                            .caption(List.of(requestId), List.of(vector), width)
                            .get(0),
                    features.getParametersMap());
        } catch (Exception e) {
            search.setStatus(StatusCode.ERROR, String.valueOf(e.getMessage()));
            throw Status.INTERNAL
                    .withDescription("decoding failed: " + e.getMessage())
                    .asRuntimeException();
        } finally {
            search.end();
        }
    }

    private ImageDecoder decoder() {
        if (decoder == null) {
            decoder = config.images().decoder();
        }
        return decoder;
    }
}
