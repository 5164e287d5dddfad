package io.streamvision.captioning.queries;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.smallrye.common.annotation.Blocking;
import io.streamvision.proto.vision.v1.VideoSummary;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.Optional;

/**
 * {@code GET /videos/{id}}: the video's summary as JSON (protobuf field names), or as protobuf
 * bytes when the request accepts {@code application/x-protobuf}. 404 when no part of the video has
 * been aggregated, 503 while the store is not queryable. {@code ?local=true} answers from this
 * instance's store only (instances use it to ask the owner).
 */
@Path("/videos")
@Blocking
public class VideoResource {

    private static final JsonFormat.Printer JSON =
            JsonFormat.printer().preservingProtoFieldNames().includingDefaultValueFields();

    @Inject
    VideoSummaries summaries;

    @GET
    @Path("/{id}")
    public Response get(
            @PathParam("id") String id,
            @QueryParam("local") boolean local,
            @QueryParam("standby") boolean standby,
            @HeaderParam("Accept") String accept)
            throws InvalidProtocolBufferException {
        Optional<VideoSummary> summary;
        try {
            summary = local ? summaries.findLocal(id, standby) : summaries.find(id);
        } catch (VideoSummaries.UnavailableException e) {
            return error(Response.Status.SERVICE_UNAVAILABLE, e.getMessage());
        }
        if (summary.isEmpty()) {
            return error(Response.Status.NOT_FOUND, "no video '" + id + "': none of its frames has been aggregated");
        }
        if (accept != null && accept.contains(VideoSummaries.PROTOBUF)) {
            return Response.ok(summary.get().toByteArray(), VideoSummaries.PROTOBUF)
                    .build();
        }
        return Response.ok(JSON.print(summary.get()), MediaType.APPLICATION_JSON)
                .build();
    }

    private static Response error(Response.Status status, String message) {
        return Response.status(status)
                .type(MediaType.APPLICATION_JSON)
                .entity("{\"error\":\"" + message.replace("\\", "\\\\").replace("\"", "\\\"") + "\"}")
                .build();
    }
}
