package io.streamvision.scoring.rest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.smallrye.common.annotation.NonBlocking;
import io.streamvision.model.ModelConfig;
import io.streamvision.runtime.DynamicBatcher;
import io.streamvision.runtime.InferenceException;
import io.streamvision.runtime.ServedModels;
import io.streamvision.scoring.ServerInfo;
import io.streamvision.scoring.triton.TritonFileOverride;
import io.streamvision.scoring.triton.TritonJson;
import io.streamvision.scoring.triton.TritonModelConfig;
import io.streamvision.scoring.triton.TritonRepository;
import io.streamvision.scoring.triton.TritonStatistics;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The Open Inference Protocol over HTTP/REST (KServe v2, Triton's HTTP API), on the service's HTTP
 * port beside the gRPC one, through the same batcher: server and model health and metadata, and
 * inference with JSON tensors or Triton's binary tensor data extension (the JSON header's length in
 * {@code Inference-Header-Content-Length}, the tensors' bytes after it). Errors are {@code
 * {"error": "..."}} with 400 (bad request), 404 (unknown model), 429 (queue full), 503 (not ready)
 * or 500.
 */
@Path("/v2")
public class InferenceRestResource {

    static final String HEADER_LENGTH = "Inference-Header-Content-Length";
    /** A model's routes, with or without {@code /versions/<version>}. */
    private static final String MODEL = "/models/{model}{version:(/versions/[^/]+)?}";

    private static final String VERSION_PREFIX = "/versions/";
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Inject
    ServedModels models;

    @Inject
    DynamicBatcher batcher;

    @GET
    @NonBlocking
    public Response server() {
        ObjectNode out = MAPPER.createObjectNode();
        out.put("name", ServerInfo.NAME);
        out.put("version", ServerInfo.VERSION);
        out.putArray("extensions")
                .add("model_repository")
                .add("binary_tensor_data")
                .add("model_configuration")
                .add("statistics");
        return json(200, out);
    }

    @GET
    @Path("/health/live")
    @NonBlocking
    public Response live() {
        return json(200, MAPPER.createObjectNode().put("live", true));
    }

    @GET
    @Path("/health/ready")
    @NonBlocking
    public Response ready() {
        boolean ready = models.ready();
        return json(ready ? 200 : 503, MAPPER.createObjectNode().put("ready", ready));
    }

    @GET
    @Path(MODEL)
    @NonBlocking
    public Response metadata(@PathParam("model") String model, @PathParam("version") String versionPath) {
        String version = version(versionPath);
        return models.registry()
                .withModel(model, version, served -> {
                    ModelConfig config = served.config();
                    ObjectNode out = MAPPER.createObjectNode();
                    out.put("name", config.name());
                    out.putArray("versions").add(Integer.toString(config.version()));
                    out.put("platform", config.platform());
                    tensors(out.putArray("inputs"), config.inputs());
                    tensors(out.putArray("outputs"), config.outputs());
                    return json(200, out);
                })
                .orElseGet(() -> error(404, notServed(model, version)));
    }

    /** Triton's model configuration extension: the served version's configuration as Triton writes it. */
    @GET
    @Path(MODEL + "/config")
    @NonBlocking
    public Response config(@PathParam("model") String model, @PathParam("version") String versionPath) {
        String version = version(versionPath);
        return models.registry()
                .withModel(model, version, served -> json(200, TritonJson.of(TritonModelConfig.of(served))))
                .orElseGet(() -> error(404, notServed(model, version)));
    }

    /**
     * Triton's model repository extension: a JSON array of {@code {name, version, state, reason}};
     * the body may be empty or {@code {"ready": true}} for the served versions only.
     */
    @POST
    @Path("/repository/index")
    @NonBlocking
    public Response repositoryIndex(String body) {
        boolean ready = false;
        if (body != null && !body.isBlank()) {
            try {
                JsonNode request = MAPPER.readTree(body);
                ready = request.path("ready").asBoolean(false);
            } catch (java.io.IOException e) {
                return error(400, "the body is not JSON: " + e.getMessage());
            }
        }
        ArrayNode out = MAPPER.createArrayNode();
        TritonRepository.index(models.registry(), ready).getModelsList().forEach(m -> out.add(TritonJson.of(m)));
        return json(200, out);
    }

    /** Triton's model repository extension: loads a model (explicit model control). */
    @POST
    @Path("/repository/models/{model}/load")
    @io.smallrye.common.annotation.Blocking
    public Response repositoryLoad(@PathParam("model") String model, String body) {
        try {
            java.util.Map<String, String> parameters = new java.util.TreeMap<>();
            java.util.Map<String, byte[]> files = new java.util.TreeMap<>();
            if (body != null && !body.isBlank()) {
                var fields = MAPPER.readTree(body).path("parameters").fields();
                while (fields.hasNext()) {
                    var e = fields.next();
                    String value = e.getValue().isTextual()
                            ? e.getValue().asText()
                            : e.getValue().toString();
                    if (e.getKey().startsWith(TritonFileOverride.PREFIX)) {
                        try {
                            files.put(
                                    e.getKey().substring(TritonFileOverride.PREFIX.length()),
                                    java.util.Base64.getDecoder().decode(value));
                        } catch (IllegalArgumentException notBase64) {
                            return error(400, e.getKey() + " is not base64: " + notBase64.getMessage());
                        }
                    } else {
                        parameters.put(e.getKey(), value);
                    }
                }
            }
            TritonRepository.load(models, model, parameters, files);
            return Response.ok().build();
        } catch (java.io.IOException e) {
            return error(400, "the body is not JSON: " + e.getMessage());
        } catch (TritonRepository.RefusedException e) {
            return error(httpStatus(e), e.getMessage());
        }
    }

    /** Triton's model repository extension: unloads a model once its queue is empty (explicit model control). */
    @POST
    @Path("/repository/models/{model}/unload")
    @io.smallrye.common.annotation.Blocking
    public Response repositoryUnload(@PathParam("model") String model) {
        try {
            TritonRepository.unload(models, batcher, model);
            return Response.ok().build();
        } catch (TritonRepository.RefusedException e) {
            return error(httpStatus(e), e.getMessage());
        }
    }

    private static int httpStatus(TritonRepository.RefusedException e) {
        return switch (e.kind()) {
            case NOT_FOUND -> 404;
            case INVALID, NOT_ALLOWED -> 400;
            case FAILED -> 500;
        };
    }

    /** Triton's statistics extension, every model. */
    @GET
    @Path("/models/stats")
    @NonBlocking
    public Response statistics() {
        return statisticsOf("", "");
    }

    /** Triton's statistics extension, one model (one version). */
    @GET
    @Path(MODEL + "/stats")
    @NonBlocking
    public Response statistics(@PathParam("model") String model, @PathParam("version") String versionPath) {
        return statisticsOf(model, version(versionPath));
    }

    private Response statisticsOf(String model, String version) {
        return TritonStatistics.of(batcher.statistics(), models.registry(), model, version)
                .map(stats -> json(200, TritonJson.of(stats)))
                .orElseGet(() -> error(404, notServed(model, version)));
    }

    @GET
    @Path(MODEL + "/ready")
    @NonBlocking
    public Response modelReady(@PathParam("model") String model, @PathParam("version") String versionPath) {
        String version = version(versionPath);
        boolean ready =
                models.registry().withModel(model, version, served -> true).isPresent();
        ObjectNode out = MAPPER.createObjectNode().put("name", model).put("ready", ready);
        return json(ready ? 200 : 400, out);
    }

    @POST
    @Path(MODEL + "/infer")
    @NonBlocking
    public CompletionStage<Response> infer(
            @PathParam("model") String model,
            @PathParam("version") String versionPath,
            @HeaderParam(HEADER_LENGTH) String headerLength,
            byte[] body) {
        String version = version(versionPath);
        JsonTensors.Request request;
        try {
            int length = body == null ? 0 : body.length;
            int jsonLength = length;
            if (headerLength != null) {
                try {
                    jsonLength = Integer.parseInt(headerLength.trim());
                } catch (NumberFormatException e) {
                    throw InferenceException.invalid(HEADER_LENGTH + " is not a number: " + headerLength);
                }
                if (jsonLength < 0 || jsonLength > length) {
                    throw InferenceException.invalid(
                            HEADER_LENGTH + " " + jsonLength + " is outside the body of " + length + " bytes");
                }
            }
            JsonNode header;
            try {
                header = MAPPER.readTree(
                        new String(body == null ? new byte[0] : body, 0, jsonLength, StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw InferenceException.invalid("request body is not JSON: " + e.getMessage());
            }
            ByteBuffer binary = ByteBuffer.wrap(body == null ? new byte[0] : body, jsonLength, length - jsonLength);
            request = JsonTensors.request(header, binary, model, version);
        } catch (InferenceException e) {
            return CompletableFuture.completedFuture(error(e));
        } catch (ArithmeticException e) {
            return CompletableFuture.completedFuture(error(400, "tensor shape has too many elements"));
        }
        JsonTensors.Request parsed = request;
        return batcher.submit(request.infer()).handle((outcome, failure) -> {
            if (failure != null) {
                return error(500, String.valueOf(failure.getMessage()));
            }
            if (!outcome.ok()) {
                return error(outcome.error());
            }
            return answer(JsonTensors.response(outcome.response(), parsed));
        });
    }

    private static Response answer(JsonTensors.Response response) {
        byte[] header = response.header().toString().getBytes(StandardCharsets.UTF_8);
        if (response.binary().length == 0) {
            return Response.ok(header, MediaType.APPLICATION_JSON).build();
        }
        byte[] body = new byte[header.length + response.binary().length];
        System.arraycopy(header, 0, body, 0, header.length);
        System.arraycopy(response.binary(), 0, body, header.length, response.binary().length);
        return Response.ok(body, MediaType.APPLICATION_OCTET_STREAM)
                .header(HEADER_LENGTH, header.length)
                .build();
    }

    /** The version of a {@link #MODEL} route: "" (the newest) when the path names none. */
    private static String version(String versionPath) {
        return versionPath == null || versionPath.isEmpty() ? "" : versionPath.substring(VERSION_PREFIX.length());
    }

    private String notServed(String model, String version) {
        return models.registry().notServed(model, version);
    }

    private static void tensors(ArrayNode out, List<ModelConfig.TensorSpec> specs) {
        for (ModelConfig.TensorSpec spec : specs) {
            ObjectNode t = out.addObject().put("name", spec.name()).put("datatype", spec.datatype());
            ArrayNode shape = t.putArray("shape");
            for (long d : spec.shape()) {
                shape.add(d);
            }
        }
    }

    private static Response error(InferenceException e) {
        int status = switch (e.kind()) {
            case INVALID_ARGUMENT -> 400;
            case NOT_FOUND -> 404;
            case RESOURCE_EXHAUSTED -> 429;
            case UNAVAILABLE -> 503;
            case INTERNAL -> 500;
        };
        return error(status, e.getMessage());
    }

    private static Response error(int status, String message) {
        return json(status, MAPPER.createObjectNode().put("error", message));
    }

    private static Response json(int status, JsonNode body) {
        return Response.status(status)
                .type(MediaType.APPLICATION_JSON)
                .entity(body.toString())
                .build();
    }
}
