package io.streamvision.scoring.grpc;

import io.grpc.stub.StreamObserver;
import io.quarkus.grpc.GrpcService;
import io.smallrye.common.annotation.Blocking;
import io.streamvision.proto.vision.v1.ClassifyRequest;
import io.streamvision.proto.vision.v1.ClassifyResponse;
import io.streamvision.proto.vision.v1.VisionServiceGrpc;
import jakarta.inject.Inject;

/**
 * {@code vision.v1.VisionService/Classify}, the name version 1 published, for the clients that use
 * it: answered exactly as {@code vision.v1.ScoringService/Classify} ({@link ClassifyGrpcService}).
 * The service's other methods are the captioning service's and answer UNIMPLEMENTED here.
 */
@GrpcService
@Blocking
public class ScoringVisionServiceV1 extends VisionServiceGrpc.VisionServiceImplBase {

    @Inject
    @GrpcService
    ClassifyGrpcService scoring;

    @Override
    public void classify(ClassifyRequest request, StreamObserver<ClassifyResponse> response) {
        scoring.classify(request, response);
    }
}
