package io.streamvision.scoring.rest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import io.streamvision.proto.inference.InferParameter;
import io.streamvision.proto.inference.ModelInferRequest;
import io.streamvision.proto.inference.ModelInferResponse;
import io.streamvision.runtime.Datatypes;
import io.streamvision.runtime.Halves;
import io.streamvision.runtime.InferenceException;
import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The JSON form of Open Inference Protocol tensors (KServe v2 REST, Triton's HTTP API) turned into
 * the protobuf messages the batcher takes, and back. Tensor data in JSON is row-major, flat or
 * nested; it becomes little-endian raw contents of the declared datatype. Triton's binary tensor
 * data extension carries a tensor's bytes after the JSON header instead ({@code "parameters":
 * {"binary_data_size": n}}), and answers outputs the same way when asked ({@code "binary_data":
 * true} on an output, or {@code "binary_data_output": true} on the request). Stateless and
 * thread-safe.
 */
final class JsonTensors {

    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    private JsonTensors() {}

    /** A parsed request: the protobuf request and which outputs are wanted as binary data. */
    record Request(ModelInferRequest infer, boolean allBinary, Map<String, Boolean> binaryOutputs) {}

    /**
     * Builds the protobuf request from the JSON header and the binary section after it ({@code
     * binary} may be empty).
     */
    static Request request(JsonNode header, ByteBuffer binary, String model, String version) throws InferenceException {
        if (header == null || !header.isObject()) {
            throw InferenceException.invalid("request body must be a JSON object");
        }
        ModelInferRequest.Builder infer =
                ModelInferRequest.newBuilder().setModelName(model).setModelVersion(version);
        if (header.hasNonNull("id")) {
            infer.setId(header.get("id").asText());
        }
        boolean allBinary = false;
        for (Iterator<Map.Entry<String, JsonNode>> it = parameters(header); it.hasNext(); ) {
            Map.Entry<String, JsonNode> p = it.next();
            if (p.getKey().equals("binary_data_output")) {
                allBinary = p.getValue().asBoolean();
            } else {
                infer.putParameters(p.getKey(), parameter(p.getKey(), p.getValue()));
            }
        }
        JsonNode inputs = header.get("inputs");
        if (inputs == null || !inputs.isArray() || inputs.isEmpty()) {
            throw InferenceException.invalid("request has no \"inputs\" array");
        }
        ByteBuffer rest = binary.duplicate();
        for (JsonNode input : inputs) {
            String name = text(input, "name", "input");
            String datatype = text(input, "datatype", "input '" + name + "'");
            JsonNode shapeNode = input.get("shape");
            if (shapeNode == null || !shapeNode.isArray()) {
                throw InferenceException.invalid("input '" + name + "' has no \"shape\" array");
            }
            List<Long> shape = new ArrayList<>();
            long elements = 1;
            for (JsonNode d : shapeNode) {
                if (!d.canConvertToLong() || d.asLong() < 0) {
                    throw InferenceException.invalid("input '" + name + "' has a bad dimension " + d);
                }
                shape.add(d.asLong());
                elements = Math.multiplyExact(elements, d.asLong());
            }
            ModelInferRequest.InferInputTensor.Builder tensor =
                    infer.addInputsBuilder().setName(name).setDatatype(datatype).addAllShape(shape);
            JsonNode binarySize = input.path("parameters").get("binary_data_size");
            byte[] raw;
            if (binarySize != null) {
                long size = binarySize.asLong(-1);
                if (size < 0 || size > rest.remaining()) {
                    throw InferenceException.invalid("input '"
                            + name
                            + "' says binary_data_size "
                            + binarySize
                            + " but "
                            + rest.remaining()
                            + " bytes of binary data remain");
                }
                raw = new byte[(int) size];
                rest.get(raw);
            } else {
                JsonNode data = input.get("data");
                if (data == null) {
                    throw InferenceException.invalid("input '" + name + "' has neither \"data\" nor binary_data_size");
                }
                List<JsonNode> flat = new ArrayList<>();
                flatten(data, flat);
                if (flat.size() != elements) {
                    throw InferenceException.invalid("input '"
                            + name
                            + "' has shape "
                            + shape
                            + " ("
                            + elements
                            + " elements) but "
                            + flat.size()
                            + " data values");
                }
                raw = encode(name, datatype, flat);
            }
            infer.addRawInputContents(ByteString.copyFrom(raw));
            for (Iterator<Map.Entry<String, JsonNode>> it = parameters(input); it.hasNext(); ) {
                Map.Entry<String, JsonNode> p = it.next();
                if (!p.getKey().equals("binary_data_size")) {
                    tensor.putParameters(p.getKey(), parameter(p.getKey(), p.getValue()));
                }
            }
        }
        if (rest.hasRemaining()) {
            throw InferenceException.invalid(rest.remaining() + " bytes of binary data follow the inputs that use it");
        }
        Map<String, Boolean> binaryOutputs = new HashMap<>();
        JsonNode outputs = header.get("outputs");
        if (outputs != null && outputs.isArray()) {
            for (JsonNode output : outputs) {
                String name = text(output, "name", "output");
                ModelInferRequest.InferRequestedOutputTensor.Builder wanted =
                        infer.addOutputsBuilder().setName(name);
                for (Iterator<Map.Entry<String, JsonNode>> it = parameters(output); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> p = it.next();
                    if (p.getKey().equals("binary_data")) {
                        binaryOutputs.put(name, p.getValue().asBoolean());
                    } else {
                        wanted.putParameters(p.getKey(), parameter(p.getKey(), p.getValue()));
                    }
                }
            }
        }
        return new Request(infer.build(), allBinary, binaryOutputs);
    }

    /** A JSON response and the binary section that follows it (empty when no output is binary). */
    record Response(ObjectNode header, byte[] binary) {}

    /** The JSON response for a protobuf one, with the outputs the request wants as binary data. */
    static Response response(ModelInferResponse response, Request request) {
        ObjectNode out = JSON.objectNode();
        out.put("model_name", response.getModelName());
        out.put("model_version", response.getModelVersion());
        if (!response.getId().isEmpty()) {
            out.put("id", response.getId());
        }
        if (response.getParametersCount() > 0) {
            ObjectNode parameters = out.putObject("parameters");
            response.getParametersMap().forEach((k, v) -> parameters.set(k, json(v)));
        }
        ArrayNode outputs = out.putArray("outputs");
        ByteArrayOutputStream binary = new ByteArrayOutputStream();
        for (int i = 0; i < response.getOutputsCount(); i++) {
            ModelInferResponse.InferOutputTensor tensor = response.getOutputs(i);
            ObjectNode o = outputs.addObject();
            o.put("name", tensor.getName());
            o.put("datatype", tensor.getDatatype());
            ArrayNode shape = o.putArray("shape");
            tensor.getShapeList().forEach(shape::add);
            ByteString raw = response.getRawOutputContents(i);
            boolean asBinary = request.binaryOutputs().getOrDefault(tensor.getName(), request.allBinary());
            if (asBinary) {
                o.putObject("parameters").put("binary_data_size", raw.size());
                binary.writeBytes(raw.toByteArray());
            } else {
                o.set(
                        "data",
                        decode(tensor.getDatatype(), raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN)));
            }
        }
        return new Response(out, binary.toByteArray());
    }

    private static Iterator<Map.Entry<String, JsonNode>> parameters(JsonNode node) {
        JsonNode p = node.get("parameters");
        return p != null && p.isObject() ? p.fields() : Collections.emptyIterator();
    }

    private static String text(JsonNode node, String field, String what) throws InferenceException {
        JsonNode v = node.get(field);
        if (v == null || !v.isTextual() || v.asText().isEmpty()) {
            throw InferenceException.invalid(what + " has no \"" + field + "\"");
        }
        return v.asText();
    }

    private static InferParameter parameter(String name, JsonNode v) throws InferenceException {
        if (v.isBoolean()) {
            return InferParameter.newBuilder().setBoolParam(v.asBoolean()).build();
        }
        if (v.isIntegralNumber() && v.canConvertToLong()) {
            return InferParameter.newBuilder().setInt64Param(v.asLong()).build();
        }
        if (v.isNumber()) {
            return InferParameter.newBuilder().setDoubleParam(v.asDouble()).build();
        }
        if (v.isTextual()) {
            return InferParameter.newBuilder().setStringParam(v.asText()).build();
        }
        throw InferenceException.invalid("parameter '" + name + "' must be a boolean, number or string");
    }

    private static JsonNode json(InferParameter p) {
        return switch (p.getParameterChoiceCase()) {
            case BOOL_PARAM -> JSON.booleanNode(p.getBoolParam());
            case INT64_PARAM -> JSON.numberNode(p.getInt64Param());
            case DOUBLE_PARAM -> JSON.numberNode(p.getDoubleParam());
            case UINT64_PARAM -> JSON.numberNode(new BigInteger(Long.toUnsignedString(p.getUint64Param())));
            case STRING_PARAM -> JSON.textNode(p.getStringParam());
            default -> JSON.nullNode();
        };
    }

    private static void flatten(JsonNode data, List<JsonNode> out) {
        if (data.isArray()) {
            for (JsonNode d : data) {
                flatten(d, out);
            }
        } else {
            out.add(data);
        }
    }

    /**
     * Little-endian bytes of {@code values} as {@code datatype}; BYTES as 4-byte lengths and bytes.
     */
    static byte[] encode(String name, String datatype, List<JsonNode> values) throws InferenceException {
        if (datatype.equals("BYTES")) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (JsonNode v : values) {
                byte[] b = v.asText().getBytes(StandardCharsets.UTF_8);
                out.writeBytes(ByteBuffer.allocate(4)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putInt(b.length)
                        .array());
                out.writeBytes(b);
            }
            return out.toByteArray();
        }
        int size = elementSize(name, datatype);
        ByteBuffer out = ByteBuffer.allocate(values.size() * size).order(ByteOrder.LITTLE_ENDIAN);
        for (JsonNode v : values) {
            if (datatype.equals("BOOL")) {
                if (!v.isBoolean()) {
                    throw InferenceException.invalid("input '" + name + "' is BOOL but has the value " + v);
                }
                out.put((byte) (v.asBoolean() ? 1 : 0));
                continue;
            }
            if (!v.isNumber()) {
                throw InferenceException.invalid("input '" + name + "' is " + datatype + " but has the value " + v);
            }
            switch (datatype) {
                case "FP32" -> out.putFloat(v.floatValue());
                case "FP64" -> out.putDouble(v.doubleValue());
                case "FP16" -> out.putShort(Halves.fromFloat(v.floatValue()));
                case "BF16" -> out.putShort((short) (Float.floatToRawIntBits(v.floatValue()) >>> 16));
                case "INT8", "UINT8" -> out.put((byte) integer(name, datatype, v));
                case "INT16", "UINT16" -> out.putShort((short) integer(name, datatype, v));
                case "INT32", "UINT32" -> out.putInt((int) integer(name, datatype, v));
                case "INT64" -> out.putLong(integer(name, datatype, v));
                case "UINT64" -> out.putLong(v.bigIntegerValue().longValue());
                default -> throw InferenceException.invalid("input '" + name + "' has unknown datatype " + datatype);
            }
        }
        return out.array();
    }

    private static long integer(String name, String datatype, JsonNode v) throws InferenceException {
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw InferenceException.invalid("input '" + name + "' is " + datatype + " but has the value " + v);
        }
        long x = v.asLong();
        long min = switch (datatype) {
            case "INT8" -> Byte.MIN_VALUE;
            case "INT16" -> Short.MIN_VALUE;
            case "INT32" -> Integer.MIN_VALUE;
            case "INT64" -> Long.MIN_VALUE;
            default -> 0;
        };
        long max = switch (datatype) {
            case "INT8" -> Byte.MAX_VALUE;
            case "UINT8" -> 255;
            case "INT16" -> Short.MAX_VALUE;
            case "UINT16" -> 65535;
            case "INT32" -> Integer.MAX_VALUE;
            case "UINT32" -> 0xFFFFFFFFL;
            default -> Long.MAX_VALUE;
        };
        if (x < min || x > max) {
            throw InferenceException.invalid("input '" + name + "' value " + x + " is out of range for " + datatype);
        }
        return x;
    }

    private static int elementSize(String name, String datatype) throws InferenceException {
        try {
            return Datatypes.size(datatype);
        } catch (IllegalArgumentException e) {
            throw InferenceException.invalid("input '" + name + "' has unknown datatype '" + datatype + "'");
        }
    }

    /** Row-major JSON values of little-endian {@code raw} data. */
    static ArrayNode decode(String datatype, ByteBuffer raw) {
        ArrayNode out = JSON.arrayNode();
        while (raw.hasRemaining()) {
            switch (datatype) {
                case "FP32" -> out.add(raw.getFloat());
                case "FP64" -> out.add(raw.getDouble());
                case "FP16" -> out.add(Halves.toFloat(raw.getShort()));
                case "BF16" -> out.add(Float.intBitsToFloat((raw.getShort() & 0xFFFF) << 16));
                case "INT8" -> out.add(raw.get());
                case "UINT8" -> out.add(raw.get() & 0xFF);
                case "INT16" -> out.add(raw.getShort());
                case "UINT16" -> out.add(raw.getShort() & 0xFFFF);
                case "INT32" -> out.add(raw.getInt());
                case "UINT32" -> out.add(raw.getInt() & 0xFFFFFFFFL);
                case "INT64" -> out.add(raw.getLong());
                case "UINT64" -> out.add(new BigInteger(Long.toUnsignedString(raw.getLong())));
                case "BOOL" -> out.add(raw.get() != 0);
                case "BYTES" -> {
                    byte[] b = new byte[raw.getInt()];
                    raw.get(b);
                    out.add(new String(b, StandardCharsets.UTF_8));
                }
                default -> {
                    return out;
                }
            }
        }
        return out;
    }
}
