package io.streamvision.scoring;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import io.quarkus.grpc.GrpcClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.streamvision.proto.inference.GRPCInferenceServiceGrpc;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.testing.KafkaBrokerTestResource;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Open Inference Protocol over HTTP/REST, through a real socket with the JDK's HTTP client and
 * with curl: health, metadata, JSON inference equal to gRPC ModelInfer on the same tensor, Triton's
 * binary tensor data extension both ways, requested outputs, and every error case with its status
 * and {@code {"error": ...}} body.
 */
@QuarkusTest
@QuarkusTestResource(KafkaBrokerTestResource.class)
class InferenceRestIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TestHTTPResource("/")
    URL base;

    @GrpcClient("inference")
    GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub inference;

    /** A 1x1x28x28 test digit: a bright vertical bar on dark ground, normalised values. */
    static float[] digit() {
        float[] v = new float[28 * 28];
        for (int i = 0; i < v.length; i++) {
            int x = i % 28;
            v[i] = x >= 12 && x < 16 ? 2.5f : -0.8f;
        }
        return v;
    }

    HttpResponse<byte[]> get(String path) throws Exception {
        return HTTP.send(
                HttpRequest.newBuilder(URI.create(base + path.substring(1)))
                        .GET()
                        .build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    HttpResponse<byte[]> post(String path, byte[] body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path.substring(1)))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .header("Content-Type", "application/json");
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    static JsonNode json(HttpResponse<byte[]> r) throws Exception {
        return JSON.readTree(r.body());
    }

    float[] grpcLogits(float[] pixels) {
        ByteBuffer raw = ByteBuffer.allocate(pixels.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float p : pixels) {
            raw.putFloat(p);
        }
        ModelInferRequest.Builder r =
                ModelInferRequest.newBuilder().setModelName("lenet").setId("grpc");
        r.addInputsBuilder().setName("image").setDatatype("FP32").addAllShape(List.of(1L, 1L, 28L, 28L));
        r.addRawInputContents(ByteString.copyFrom(raw.array()));
        ModelInferResponse response = inference.modelInfer(r.build());
        ByteBuffer out = response.getRawOutputContents(0).asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        float[] logits = new float[out.remaining() / 4];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = out.getFloat();
        }
        return logits;
    }

    /** The JSON request for the digit, nested 1x1x28x28 as clients often send it. */
    static String jsonRequest(float[] pixels, String outputs) {
        StringBuilder data = new StringBuilder("[[[");
        for (int y = 0; y < 28; y++) {
            data.append(y == 0 ? "[" : ",[");
            for (int x = 0; x < 28; x++) {
                data.append(x == 0 ? "" : ",").append(pixels[y * 28 + x]);
            }
            data.append(']');
        }
        data.append("]]]");
        return "{\"id\": \"rest-1\", \"inputs\": [{\"name\": \"image\", \"shape\": [1, 1, 28, 28], \"datatype\": \"FP32\","
                + " \"data\": "
                + data
                + "}]"
                + outputs
                + "}";
    }

    static float[] floats(JsonNode data) {
        float[] out = new float[data.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) data.get(i).asDouble();
        }
        return out;
    }

    /** Every test starts once the server reports ready (models loaded). */
    @BeforeEach
    void awaitReady() {
        Awaitility.await()
                .atMost(Duration.ofSeconds(90))
                .until(() -> get("/v2/health/ready").statusCode() == 200);
    }

    @Test
    void serverAndModelHealthAndMetadata() throws Exception {
        JsonNode server = json(get("/v2"));
        assertEquals("streamvision-scoring", server.get("name").asText());
        assertTrue(server.get("extensions").toString().contains("binary_tensor_data"), server.toString());
        assertEquals(200, get("/v2/health/live").statusCode());

        HttpResponse<byte[]> meta = get("/v2/models/lenet");
        assertEquals(200, meta.statusCode());
        JsonNode m = json(meta);
        assertEquals("lenet", m.get("name").asText());
        assertEquals("image", m.get("inputs").get(0).get("name").asText());
        assertEquals("FP32", m.get("inputs").get(0).get("datatype").asText());
        assertEquals("[-1,1,28,28]", m.get("inputs").get(0).get("shape").toString());
        assertEquals(200, get("/v2/models/lenet/versions/1").statusCode());
        assertEquals(200, get("/v2/models/lenet/ready").statusCode());
        assertEquals(200, get("/v2/models/lenet/versions/1/ready").statusCode());

        HttpResponse<byte[]> unknown = get("/v2/models/no-such-model");
        assertEquals(404, unknown.statusCode());
        assertTrue(json(unknown).get("error").asText().contains("no-such-model"), new String(unknown.body()));
        assertEquals(400, get("/v2/models/no-such-model/ready").statusCode());
        assertEquals(404, get("/v2/models/lenet/versions/99").statusCode());
    }

    @Test
    void jsonInferenceEqualsGrpcModelInfer() throws Exception {
        float[] pixels = digit();
        HttpResponse<byte[]> r =
                post("/v2/models/lenet/infer", jsonRequest(pixels, "").getBytes(StandardCharsets.UTF_8));
        assertEquals(200, r.statusCode(), new String(r.body()));
        JsonNode answer = json(r);
        assertEquals("lenet", answer.get("model_name").asText());
        assertEquals("1", answer.get("model_version").asText());
        assertEquals("rest-1", answer.get("id").asText());
        JsonNode logits = answer.get("outputs").get(0);
        assertEquals("FP32", logits.get("datatype").asText());
        assertEquals("[1,10]", logits.get("shape").toString());
        assertArrayEquals(grpcLogits(pixels), floats(logits.get("data")), 1e-6f);
        // The model's out-of-domain score of the input travels as response parameters.
        JsonNode parameters = answer.get("parameters");
        assertTrue(parameters.get("domain_score").isNumber(), answer.toString());
        assertTrue(parameters.get("domain_threshold").isNumber(), answer.toString());
        assertEquals(
                parameters.get("domain_score").asDouble()
                        > parameters.get("domain_threshold").asDouble(),
                parameters.get("out_of_domain").asBoolean(),
                answer.toString());

        HttpResponse<byte[]> versioned = post(
                "/v2/models/lenet/versions/1/infer",
                jsonRequest(pixels, ", \"outputs\": [{\"name\": \"logits\"}]").getBytes(StandardCharsets.UTF_8));
        assertEquals(200, versioned.statusCode(), new String(versioned.body()));
        assertEquals(1, json(versioned).get("outputs").size());
    }

    @Test
    void binaryTensorDataBothWays() throws Exception {
        float[] pixels = digit();
        ByteBuffer raw = ByteBuffer.allocate(28 * 28 * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float p : pixels) {
            raw.putFloat(p);
        }
        byte[] header = ("{\"inputs\": [{\"name\": \"image\", \"shape\": [1, 1, 28, 28], \"datatype\": \"FP32\","
                        + " \"parameters\": {\"binary_data_size\": "
                        + raw.capacity()
                        + "}}],"
                        + " \"outputs\": [{\"name\": \"logits\", \"parameters\": {\"binary_data\": true}}]}")
                .getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(header);
        body.write(raw.array());
        HttpResponse<byte[]> r = post(
                "/v2/models/lenet/infer",
                body.toByteArray(),
                "Inference-Header-Content-Length",
                Integer.toString(header.length));
        assertEquals(200, r.statusCode(), new String(r.body()));
        int jsonLength = Integer.parseInt(
                r.headers().firstValue("Inference-Header-Content-Length").orElseThrow());
        JsonNode answer = JSON.readTree(new String(r.body(), 0, jsonLength, StandardCharsets.UTF_8));
        JsonNode output = answer.get("outputs").get(0);
        assertEquals(40, output.get("parameters").get("binary_data_size").asInt());
        assertTrue(output.get("data") == null, "binary outputs carry no JSON data");
        ByteBuffer logits = ByteBuffer.wrap(r.body(), jsonLength, 40).order(ByteOrder.LITTLE_ENDIAN);
        float[] fromBinary = new float[10];
        for (int i = 0; i < 10; i++) {
            fromBinary[i] = logits.getFloat();
        }
        assertArrayEquals(grpcLogits(pixels), fromBinary, 1e-6f);
    }

    @Test
    void everyErrorHasItsStatusAndAMessage() throws Exception {
        String good = jsonRequest(digit(), "");
        Object[][] cases = {
            {"/v2/models/lenet/infer", "not json", 400, "not JSON"},
            {"/v2/models/lenet/infer", "{}", 400, "inputs"},
            {
                "/v2/models/lenet/infer",
                "{\"inputs\": [{\"name\": \"image\", \"shape\": [1, 1, 28, 28], \"datatype\":"
                        + " \"FP32\", \"data\": [1, 2, 3]}]}",
                400,
                "784 elements"
            },
            {
                "/v2/models/lenet/infer",
                "{\"inputs\": [{\"name\": \"image\", \"shape\": [1, 1, 2, 2], \"datatype\":"
                        + " \"FP32\", \"data\": [1, 2, 3, 4]}]}",
                400,
                "image"
            },
            {
                "/v2/models/lenet/infer",
                "{\"inputs\": [{\"name\": \"image\", \"shape\": [1], \"datatype\":" + " \"FP32\", \"data\": [\"a\"]}]}",
                400,
                "value"
            },
            {
                "/v2/models/lenet/infer",
                "{\"inputs\": [{\"name\": \"image\", \"shape\": [1, 1, 28, 28], \"datatype\":"
                        + " \"INT64\", \"data\": "
                        + "[1]".repeat(0)
                        + "["
                        + "0,".repeat(783)
                        + "0]}]}",
                400,
                "INT64"
            },
            {"/v2/models/no-such-model/infer", good, 404, "no-such-model"},
        };
        for (Object[] c : cases) {
            HttpResponse<byte[]> r = post((String) c[0], ((String) c[1]).getBytes(StandardCharsets.UTF_8));
            assertEquals(c[2], r.statusCode(), c[1] + " -> " + new String(r.body()));
            String error = json(r).get("error").asText();
            assertTrue(error.contains((String) c[3]), "'" + error + "' should mention " + c[3]);
        }
        HttpResponse<byte[]> badLength = post(
                "/v2/models/lenet/infer",
                good.getBytes(StandardCharsets.UTF_8),
                "Inference-Header-Content-Length",
                "999999");
        assertEquals(400, badLength.statusCode());
        assertTrue(json(badLength).get("error").asText().contains("Inference-Header-Content-Length"));
    }

    @Test
    void curlCanCallIt() throws Exception {
        boolean hasCurl;
        try {
            hasCurl = new ProcessBuilder("curl", "--version").start().waitFor() == 0;
        } catch (IOException e) {
            hasCurl = false;
        }
        Assumptions.assumeTrue(hasCurl, "curl is not installed (apt-get install curl); the JDK client tests above ran");
        Path body = Files.createTempFile("infer-", ".json");
        Files.writeString(body, jsonRequest(digit(), ""));
        Process curl = new ProcessBuilder(
                        "curl",
                        "-s",
                        "-X",
                        "POST",
                        "-H",
                        "Content-Type: application/json",
                        "--data-binary",
                        "@" + body,
                        base + "v2/models/lenet/infer")
                .redirectErrorStream(true)
                .start();
        byte[] out = curl.getInputStream().readAllBytes();
        assertTrue(curl.waitFor(30, TimeUnit.SECONDS));
        JsonNode answer = JSON.readTree(out);
        assertArrayEquals(
                grpcLogits(digit()), floats(answer.get("outputs").get(0).get("data")), 1e-6f);
    }
}
