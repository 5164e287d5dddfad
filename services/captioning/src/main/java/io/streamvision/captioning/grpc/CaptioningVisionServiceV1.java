package io.streamvision.captioning.grpc;

import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import io.streamvision.proto.vision.v1.CaptionRequest;
import io.streamvision.proto.vision.v1.CaptionResponse;
import io.streamvision.proto.vision.v1.DescribeRequest;
import io.streamvision.proto.vision.v1.DescribeResponse;
import io.streamvision.proto.vision.v1.GetVideoSummaryRequest;
import io.streamvision.proto.vision.v1.GetVideoSummaryResponse;
import io.streamvision.proto.vision.v1.VisionServiceGrpc;
import jakarta.inject.Inject;

/**
 * {@code vision.v1.VisionService}'s Caption, Describe and GetVideoSummary, the names version 1
 * published, for the clients that use them: answered exactly as {@code
 * vision.v1.CaptioningService}'s ({@link CaptionGrpcService}). Classify is the scoring service's
 * and answers UNIMPLEMENTED here.
 */
@GrpcService
@Blocking
public class CaptioningVisionServiceV1 extends VisionServiceGrpc.VisionServiceImplBase {

    @Inject
    @GrpcService
    CaptionGrpcService captioning;

    @Override
    public void caption(CaptionRequest request, StreamObserver<CaptionResponse> response) {
        captioning.caption(request, response);
    }

    @Override
    public void describe(DescribeRequest request, StreamObserver<DescribeResponse> response) {
        captioning.describe(request, response);
    }

    @Override
    public void getVideoSummary(GetVideoSummaryRequest request, StreamObserver<GetVideoSummaryResponse> response) {
        captioning.getVideoSummary(request, response);
    }
}
