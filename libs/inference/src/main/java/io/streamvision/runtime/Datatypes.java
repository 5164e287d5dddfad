package io.streamvision.runtime;

import ai.onnxruntime.OnnxJavaType;

/** Maps Open Inference Protocol datatype names to ONNX Runtime element types and sizes. */
public final class Datatypes {

    private Datatypes() {}

    /** OIP name of an ONNX Runtime element type. */
    public static String fromOnnx(OnnxJavaType type) {
        return switch (type) {
            case FLOAT -> "FP32";
            case DOUBLE -> "FP64";
            case FLOAT16 -> "FP16";
            case BFLOAT16 -> "BF16";
            case INT8 -> "INT8";
            case INT16 -> "INT16";
            case INT32 -> "INT32";
            case INT64 -> "INT64";
            case UINT8 -> "UINT8";
            case BOOL -> "BOOL";
            case STRING -> "BYTES";
            default -> type.name();
        };
    }

    /** ONNX Runtime element type of an OIP datatype. */
    public static OnnxJavaType toOnnx(String datatype) {
        return switch (datatype) {
            case "FP32" -> OnnxJavaType.FLOAT;
            case "FP64" -> OnnxJavaType.DOUBLE;
            case "FP16" -> OnnxJavaType.FLOAT16;
            case "BF16" -> OnnxJavaType.BFLOAT16;
            case "INT8" -> OnnxJavaType.INT8;
            case "INT16" -> OnnxJavaType.INT16;
            case "INT32" -> OnnxJavaType.INT32;
            case "INT64" -> OnnxJavaType.INT64;
            case "UINT8" -> OnnxJavaType.UINT8;
            case "BOOL" -> OnnxJavaType.BOOL;
            default -> throw new IllegalArgumentException("unsupported datatype " + datatype);
        };
    }

    /** Bytes per element of an OIP datatype. */
    public static int size(String datatype) {
        return switch (datatype) {
            case "FP64", "INT64", "UINT64" -> 8;
            case "FP32", "INT32", "UINT32" -> 4;
            case "FP16", "BF16", "INT16", "UINT16" -> 2;
            case "INT8", "UINT8", "BOOL" -> 1;
            default -> throw new IllegalArgumentException("unsupported datatype " + datatype);
        };
    }
}
