package io.streamvision.model;

import io.streamvision.proto.inference.InferParameter;
import io.streamvision.proto.inference.ModelInferRequest;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The models one image request went to, carried by each of its tensor requests as the parameter
 * {@value #PARAMETER} (names joined by commas) and copied by the scoring service into the
 * classification, features and caption records of that image, so that the results join knows which
 * parts make the image's result whole. Stateless.
 */
public final class RequestModels {

    /** The request parameter that carries the list. */
    public static final String PARAMETER = "request_models";

    private RequestModels() {}

    /** Writes the list into a request's parameters (nothing for an empty list). */
    public static void put(ModelInferRequest.Builder request, List<String> models) {
        if (!models.isEmpty()) {
            request.putParameters(
                    PARAMETER,
                    InferParameter.newBuilder()
                            .setStringParam(String.join(",", models))
                            .build());
        }
    }

    /** The list a request carries; empty when it carries none. */
    public static List<String> of(ModelInferRequest request) {
        return request == null ? List.of() : of(request.getParametersMap());
    }

    /** The list in a parameter map; empty when it has none. */
    public static List<String> of(Map<String, InferParameter> parameters) {
        InferParameter p = parameters.get(PARAMETER);
        if (p == null || p.getStringParam().isBlank()) {
            return List.of();
        }
        return Arrays.stream(p.getStringParam().split(","))
                .map(String::trim)
                .filter(s -> !s.isEmpty())
                .toList();
    }
}
