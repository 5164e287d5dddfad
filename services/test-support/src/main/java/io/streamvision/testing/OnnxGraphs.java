package io.streamvision.testing;

import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * Writes small ONNX models (the protobuf wire format of {@code onnx.proto}, field numbers from the
 * ONNX specification) so tests can build a graph that exposes exactly what they check, without
 * Python or a model file in the repository. Only FLOAT inputs and outputs and INT64 initializers
 * are needed here.
 */
public final class OnnxGraphs {

    private OnnxGraphs() {}

    /** A model of one graph for the default opset {@code opset}. */
    public static byte[] model(byte[] graph, int opset) {
        return message(m -> {
            m.writeInt64(1, 7); // ir_version
            m.writeByteArray(7, graph);
            m.writeByteArray(8, message(op -> {
                op.writeString(1, "");
                op.writeInt64(2, opset);
            }));
        });
    }

    /** A graph of {@code nodes}, with initializers, inputs and outputs (value infos). */
    public static byte[] graph(
            String name, List<byte[]> nodes, List<byte[]> initializers, List<byte[]> inputs, List<byte[]> outputs) {
        return message(g -> {
            for (byte[] node : nodes) {
                g.writeByteArray(1, node);
            }
            g.writeString(2, name);
            for (byte[] initializer : initializers) {
                g.writeByteArray(5, initializer);
            }
            for (byte[] input : inputs) {
                g.writeByteArray(11, input);
            }
            for (byte[] output : outputs) {
                g.writeByteArray(12, output);
            }
        });
    }

    /**
     * A one-node model (opset 13) {@code y = ReduceMean(x, axes, keepdims=0)} named {@code name},
     * {@code x} and {@code y} described by {@link #floatValue}.
     */
    public static byte[] reduceMean(String name, byte[] x, byte[] y, long... axes) {
        byte[] node = node(
                "ReduceMean", List.of("x"), List.of("y"), intsAttribute("axes", axes), intAttribute("keepdims", 0));
        return model(graph(name, List.of(node), List.of(), List.of(x), List.of(y)), 13);
    }

    /** A node running {@code op} from {@code inputs} to {@code outputs}, with attributes. */
    public static byte[] node(String op, List<String> inputs, List<String> outputs, byte[]... attributes) {
        return message(o -> {
            for (String input : inputs) {
                o.writeString(1, input);
            }
            for (String output : outputs) {
                o.writeString(2, output);
            }
            o.writeString(4, op);
            for (byte[] attribute : attributes) {
                o.writeByteArray(5, attribute);
            }
        });
    }

    /** An INT attribute. */
    public static byte[] intAttribute(String name, long value) {
        return message(a -> {
            a.writeString(1, name);
            a.writeInt64(3, value);
            a.writeEnum(20, 2); // INT
        });
    }

    /** An INTS attribute. */
    public static byte[] intsAttribute(String name, long... values) {
        return message(a -> {
            a.writeString(1, name);
            for (long v : values) {
                a.writeInt64(8, v);
            }
            a.writeEnum(20, 7); // INTS
        });
    }

    /** A one-dimensional INT64 tensor initializer. */
    public static byte[] int64Initializer(String name, long... values) {
        return message(t -> {
            t.writeInt64(1, values.length); // dims
            t.writeInt32(2, 7); // data_type INT64
            for (long v : values) {
                t.writeInt64(7, v); // int64_data
            }
            t.writeString(8, name);
        });
    }

    /**
     * A FLOAT tensor value info; each dimension is a {@code Long} size or a {@code String} symbol.
     */
    public static byte[] floatValue(String name, Object... dims) {
        byte[] shape = message(s -> {
            for (Object d : dims) {
                s.writeByteArray(1, message(dim -> {
                    if (d instanceof Long v) {
                        dim.writeInt64(1, v);
                    } else {
                        dim.writeString(2, (String) d);
                    }
                }));
            }
        });
        byte[] tensorType = message(t -> {
            t.writeInt32(1, 1); // FLOAT
            t.writeByteArray(2, shape);
        });
        byte[] type = message(t -> t.writeByteArray(1, tensorType));
        return message(v -> {
            v.writeString(1, name);
            v.writeByteArray(2, type);
        });
    }

    @FunctionalInterface
    private interface Writer {
        void write(CodedOutputStream out) throws IOException;
    }

    private static byte[] message(Writer writer) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            CodedOutputStream out = CodedOutputStream.newInstance(bytes);
            writer.write(out);
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
