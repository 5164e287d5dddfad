package io.streamvision.scoring.rest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.smallrye.common.annotation.Blocking;
import io.streamvision.rollout.RolloutSettings;
import io.streamvision.rollout.Rollouts;
import io.streamvision.rollout.VersionComparison;
import io.streamvision.runtime.ServedModels;
import jakarta.inject.Inject;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.Map;
import java.util.TreeMap;

/**
 * The rollouts' admin API: each model's rollout (settings, where it stands, the comparison of its
 * versions) as JSON in the shape of Triton's statistics ({@code GET /v2/rollouts}, {@code GET
 * /v2/models/{m}/rollout}; the {@code metadata} group), and the operator's hand on it ({@code PUT}
 * settings over {@code rollout.json}, {@code DELETE} them, {@code POST .../promote}, {@code POST
 * .../rollback}; the {@code admin} group when tokens are on).
 */
@Path("/v2")
public class RolloutResource {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Inject
    ServedModels models;

    @GET
    @Path("/rollouts")
    public Response all() {
        ObjectNode out = MAPPER.createObjectNode();
        ArrayNode list = out.putArray("rollouts");
        Map<String, Rollouts.State> states =
                new TreeMap<>(models.registry().rollouts().states());
        states.forEach((model, state) ->
                list.add(describe(model, state, models.registry().rollouts().comparison(model))));
        return json(200, out);
    }

    @GET
    @Path("/models/{model}/rollout")
    public Response one(@PathParam("model") String model) {
        Rollouts.State state = models.registry().rollouts().state(model);
        if (state == null) {
            return error(404, "model " + model + " has no rollout (no rollout.json, none set)");
        }
        return json(200, describe(model, state, models.registry().rollouts().comparison(model)));
    }

    @PUT
    @Path("/models/{model}/rollout")
    @Blocking
    public Response set(@PathParam("model") String model, String body) {
        try {
            models.registry().setRollout(model, RolloutSettings.parse(body));
            return one(model);
        } catch (IllegalArgumentException e) {
            return error(400, e.getMessage());
        }
    }

    @DELETE
    @Path("/models/{model}/rollout")
    @Blocking
    public Response clear(@PathParam("model") String model) {
        try {
            models.registry().setRollout(model, null);
            return Response.noContent().build();
        } catch (IllegalArgumentException e) {
            return error(404, e.getMessage());
        }
    }

    @POST
    @Path("/models/{model}/rollout/promote")
    @Blocking
    public Response promote(@PathParam("model") String model, String body) {
        return act(model, body, true);
    }

    @POST
    @Path("/models/{model}/rollout/rollback")
    @Blocking
    public Response rollback(@PathParam("model") String model, String body) {
        return act(model, body, false);
    }

    private Response act(String model, String body, boolean promote) {
        String reason = promote ? "promoted by hand" : "rolled back by hand";
        if (body != null && !body.isBlank()) {
            try {
                JsonNode given = MAPPER.readTree(body).path("reason");
                if (given.isTextual()) {
                    reason = given.asText();
                }
            } catch (java.io.IOException e) {
                return error(400, "the body is not JSON: " + e.getMessage());
            }
        }
        try {
            if (promote) {
                models.registry().rollouts().promote(model, reason);
            } else {
                models.registry().rollouts().rollback(model, reason);
            }
        } catch (IllegalStateException e) {
            return error(404, e.getMessage());
        }
        return one(model);
    }

    static ObjectNode describe(String model, Rollouts.State state, VersionComparison comparison) {
        ObjectNode out = MAPPER.createObjectNode();
        out.put("model", model);
        out.put("status", state.status().name());
        out.put("serving_version", state.servingVersion());
        Integer candidate = state.settings().candidate();
        if (candidate != null) {
            out.put("candidate_version", candidate);
        }
        out.put("step", state.step());
        ArrayNode steps = out.putArray("steps");
        state.settings().steps().forEach(s -> steps.add(s.percent()));
        out.put("percent", state.percent());
        out.put("reason", state.reason());
        out.put("settings_digest", state.digest());
        out.set("settings", io.streamvision.model.ModelConfig.JSON.valueToTree(state.settings()));
        if (comparison != null) {
            out.set("comparison", figures(comparison.snapshot()));
        }
        return out;
    }

    static ObjectNode figures(VersionComparison.Snapshot s) {
        ObjectNode out = MAPPER.createObjectNode();
        out.put("pairs", s.pairs());
        out.put("classified_rows", s.classifiedRows());
        number(out, "top1_agreement", s.top1Agreement());
        number(out, "top5_overlap", s.top5Overlap());
        number(out, "mean_abs_diff", s.meanAbsDiff());
        number(out, "max_abs_diff", s.maxAbsDiff());
        out.put("serving_requests", s.servingRequests());
        out.put("serving_errors", s.servingErrors());
        out.put("candidate_requests", s.candidateRequests());
        out.put("candidate_errors", s.candidateErrors());
        number(out, "candidate_error_rate", s.candidateErrorRate());
        number(out, "serving_p99_ms", s.servingP99Ms());
        number(out, "candidate_p99_ms", s.candidateP99Ms());
        number(out, "p99_ratio", s.p99Ratio());
        out.put("shadow_skipped", s.shadowSkipped());
        out.put("detected_images", s.detectedImages());
        number(out, "detection_agreement", s.detectionAgreement());
        number(out, "matched_iou", s.matchedIou());
        return out;
    }

    private static void number(ObjectNode out, String name, double value) {
        if (Double.isNaN(value)) {
            out.putNull(name);
        } else {
            out.put(name, value);
        }
    }

    private static Response json(int status, JsonNode body) {
        return Response.status(status)
                .type(MediaType.APPLICATION_JSON)
                .entity(body.toString())
                .build();
    }

    private static Response error(int status, String message) {
        return json(status, MAPPER.createObjectNode().put("error", message));
    }
}
