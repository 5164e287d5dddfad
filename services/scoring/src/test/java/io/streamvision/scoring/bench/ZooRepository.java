package io.streamvision.scoring.bench;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.streamvision.model.ModelRepository;
import io.streamvision.runtime.Datatypes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Wraps a bare ONNX file (for example a reference-zoo model) as a one-model repository in a
 * temporary folder, with a config written from the file's own metadata, so the services can serve
 * it. A square three-channel NCHW input gets torchvision's classification recipe for its size
 * (shorter side 256 for 224, 342 for 299, centre crop, ImageNet mean and std), taking UINT8 pixels,
 * as the zoo's architectures are trained and as preprocess then feeds them.
 */
public final class ZooRepository {

    private ZooRepository() {}

    /** A repository folder holding {@code <name>/1/model.onnx} and its generated config. */
    public static Path wrap(Path onnx, String name) throws Exception {
        Path repo = Files.createTempDirectory("zoo-repo-");
        add(repo, onnx, name);
        return repo;
    }

    /** Adds {@code <name>/1/} for an ONNX file to a repository folder. */
    public static void add(Path repo, Path onnx, String name) throws Exception {
        Path version = Files.createDirectories(repo.resolve(name).resolve("1"));
        Files.createSymbolicLink(version.resolve("model.onnx"), onnx.toAbsolutePath());
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("name", name);
        config.put("version", 1);
        config.put("platform", "onnxruntime_onnx");
        config.put("file", "model.onnx");
        config.put("task", "classification");
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(onnx.toString(), new OrtSession.SessionOptions())) {
            config.put("inputs", tensors(session.getInputInfo(), null));
            config.put("outputs", tensors(session.getOutputInfo(), "logits"));
        }
        // No batching window, as the shipped image models: a batch takes what is queued.
        config.put("batching", Map.of("max_batch_size", 32, "max_queue_delay_us", 0, "max_queue_size", 1024));
        config.put("sha256", ModelRepository.sha256(onnx));
        new ObjectMapper()
                .writerWithDefaultPrettyPrinter()
                .writeValue(version.resolve("config.json").toFile(), config);
    }

    /** [N, 3, S, S]: a square RGB image input. */
    private static boolean isImage(long[] shape) {
        return shape.length == 4 && shape[1] == 3 && shape[2] > 0 && shape[2] == shape[3];
    }

    private static List<Map<String, Object>> tensors(Map<String, NodeInfo> infos, String role) {
        List<Map<String, Object>> out = new ArrayList<>();
        boolean first = true;
        for (NodeInfo node : infos.values()) {
            TensorInfo info = (TensorInfo) node.getInfo();
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("name", node.getName());
            t.put("datatype", Datatypes.fromOnnx(info.type));
            long[] shape = info.getShape();
            t.put("shape", shape);
            if (role != null && first) {
                t.put("role", role);
            }
            if (role == null && first && isImage(shape)) {
                long size = shape[2];
                t.put("layout", "NCHW");
                t.put("colour", "RGB");
                t.put(
                        "resize",
                        Map.of(
                                "policy",
                                "shorter-side-crop",
                                "width",
                                size,
                                "height",
                                size,
                                "shorter_side",
                                Math.round(size * 256 / 224.0)));
                t.put("scale", 255.0);
                t.put("mean", new float[] {0.485f, 0.456f, 0.406f});
                t.put("std", new float[] {0.229f, 0.224f, 0.225f});
                t.put("accepts_uint8", true);
            }
            first = false;
            out.add(t);
        }
        return out;
    }
}
