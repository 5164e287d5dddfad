package io.streamvision.runtime;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.providers.OrtCUDAProviderOptions;
import io.streamvision.model.ModelConfig;
import io.streamvision.model.ModelConfig.TensorSpec;
import io.streamvision.model.ModelRepository;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;
import org.jboss.logging.Logger;

/**
 * Creates ONNX Runtime sessions from the model repository. There is one {@link OrtEnvironment} per
 * process; each model version gets one session, checked against its config (every tensor's name,
 * datatype and shape) and warmed up before it is handed out.
 *
 * <p>Thread-safe.
 */
public final class ModelLoader {

    private static final Logger LOG = Logger.getLogger(ModelLoader.class);
    private static final AtomicBoolean CUDA_FALLBACK_WARNED = new AtomicBoolean();

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final ModelRepository repository;
    private final ExecutionSettings settings;

    public ModelLoader(ModelRepository repository, ExecutionSettings settings) {
        this.repository = repository;
        this.settings = settings;
    }

    public OrtEnvironment environment() {
        return env;
    }

    public ModelRepository repository() {
        return repository;
    }

    /** True when this build of ONNX Runtime has the CUDA execution provider. */
    public static boolean cudaAvailable() {
        return OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA);
    }

    /** Loads, checks and warms up one model version. */
    public LoadedModel load(String name, int version) {
        return load(name, version, UnaryOperator.identity());
    }

    /**
     * The same with {@code override} applied to the repository's config first (a load request's
     * settings); the model's tensors are still checked against its ONNX file.
     */
    public LoadedModel load(String name, int version, UnaryOperator<ModelConfig> override) {
        return load(repository, name, version, override);
    }

    /**
     * The same from another repository than this runtime's (a load request's own files, staged
     * apart from the shared repository).
     */
    public LoadedModel load(ModelRepository repository, String name, int version, UnaryOperator<ModelConfig> override) {
        // Digest first: a config edited after it is read is noticed again by the next refresh.
        String configDigest = repository.configDigest(name, version);
        ModelConfig config = override.apply(repository.config(name, version));
        Path file = repository.versionDir(name, version).resolve(config.file() == null ? "model.onnx" : config.file());
        if (!Files.isRegularFile(file)) {
            throw new ModelLoadException("Model " + name + " v" + version + ": ONNX file " + file + " is missing");
        }
        verifyDigest(name, version, file, config.sha256());
        String provider = chooseProvider(config);
        int cores = Runtime.getRuntime().availableProcessors();
        ExecutionSettings asked = settings.forModel(config.execution());
        ExecutionSettings effective = asked.forCores(cores, provider);
        if (effective.instances() < asked.instances()) {
            LOG.infof(
                    "Model %s v%d: %d instances asked, %d run: this process has %d cores",
                    name, version, asked.instances(), effective.instances(), cores);
        }
        OrtSession session;
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            int intraOp = effective.sessionIntraOpThreads(cores, ExecutionSettings.hostCores());
            if (intraOp > 0) {
                options.setIntraOpNumThreads(intraOp);
            }
            if (effective.interOpThreads() > 0) {
                options.setInterOpNumThreads(effective.interOpThreads());
            }
            LOG.debugf(
                    "Model %s v%d: %s, intra-op threads %d, inter-op threads %d, spinning %s, instances %d",
                    name,
                    version,
                    provider,
                    intraOp,
                    effective.interOpThreads(),
                    effective.spinning(),
                    effective.instances());
            String spin = effective.spinning() ? "1" : "0";
            options.addConfigEntry("session.intra_op.allow_spinning", spin);
            options.addConfigEntry("session.inter_op.allow_spinning", spin);
            if ("cuda".equals(provider)) {
                try (OrtCUDAProviderOptions cuda = new OrtCUDAProviderOptions(settings.cudaDeviceId())) {
                    if (settings.cudaMemoryLimitBytes() > 0) {
                        cuda.add("gpu_mem_limit", Long.toString(settings.cudaMemoryLimitBytes()));
                    }
                    cuda.add("cudnn_conv_algo_search", settings.cudnnExhaustiveSearch() ? "EXHAUSTIVE" : "HEURISTIC");
                    options.addCUDA(cuda);
                }
            }
            session = env.createSession(file.toString(), options);
        } catch (OrtException e) {
            throw new ModelLoadException(
                    "Model " + name + " v" + version + ": ONNX Runtime cannot load " + file + ": " + e.getMessage(), e);
        }
        try {
            check(config, session);
            // After the check: a config whose tensors disagree with the graph is refused for that.
            DomainScore domain;
            try {
                domain = DomainScore.of(config, repository.versionDir(name, version));
            } catch (IllegalArgumentException e) {
                throw new ModelLoadException("Model " + name + " v" + version + ": " + e.getMessage(), e);
            }
            LoadedModel model = new LoadedModel(config, session, provider, effective.instances(), configDigest, domain);
            warmUp(model);
            return model;
        } catch (RuntimeException e) {
            closeQuietly(session);
            throw e;
        }
    }

    private String chooseProvider(ModelConfig config) {
        String wanted = settings.provider();
        boolean require = config.execution() != null && config.execution().requireCuda();
        if (config.execution() != null
                && config.execution().provider() != null
                && !"auto".equals(config.execution().provider())) {
            wanted = config.execution().provider();
        }
        wanted = wanted == null ? "auto" : wanted.toLowerCase(Locale.ROOT);
        boolean cuda = cudaAvailable();
        if (require && !cuda) {
            throw new ModelLoadException("Model "
                    + config.name()
                    + " v"
                    + config.version()
                    + " requires CUDA, but this build of ONNX Runtime has no CUDA execution provider"
                    + " (build with -Pgpu and run on a machine with an NVIDIA GPU)");
        }
        switch (wanted) {
            case "cpu":
                return "cpu";
            case "cuda":
            case "auto":
                if (cuda) {
                    return "cuda";
                }
                if (CUDA_FALLBACK_WARNED.compareAndSet(false, true)) {
                    LOG.warnf(
                            "Execution provider '%s' asked for, but ONNX Runtime has no CUDA provider here;"
                                    + " running on CPU",
                            wanted);
                }
                return "cpu";
            default:
                throw new ModelLoadException("Model "
                        + config.name()
                        + ": unknown execution provider '"
                        + wanted
                        + "' (use cpu, cuda or auto)");
        }
    }

    /** Checks the config against the ONNX file's own metadata. */
    static void check(ModelConfig config, OrtSession session) {
        try {
            checkTensors(config, "input", config.inputs(), session.getInputInfo());
            checkTensors(config, "output", config.outputs(), session.getOutputInfo());
        } catch (OrtException e) {
            throw new ModelLoadException(
                    "Model " + config.name() + ": cannot read ONNX metadata: " + e.getMessage(), e);
        }
    }

    private static void checkTensors(
            ModelConfig config, String kind, List<TensorSpec> specs, Map<String, NodeInfo> actual) {
        String model = "Model " + config.name() + " v" + config.version();
        if (specs == null || specs.isEmpty()) {
            throw new ModelLoadException(
                    model + ": config lists no " + kind + "s; the ONNX file has " + actual.keySet());
        }
        for (TensorSpec spec : specs) {
            NodeInfo node = actual.get(spec.name());
            if (node == null) {
                throw new ModelLoadException(model
                        + ": config "
                        + kind
                        + " '"
                        + spec.name()
                        + "' is not in the ONNX file, which has "
                        + kind
                        + "s "
                        + actual.keySet());
            }
            TensorInfo info = (TensorInfo) node.getInfo();
            String onnxType = Datatypes.fromOnnx(info.type);
            if (!onnxType.equals(spec.datatype())) {
                throw new ModelLoadException(model
                        + ": "
                        + kind
                        + " '"
                        + spec.name()
                        + "' is "
                        + onnxType
                        + " in the ONNX file but "
                        + spec.datatype()
                        + " in the config");
            }
            long[] shape = info.getShape();
            long[] wanted = spec.shape();
            if (wanted == null || shape.length != wanted.length) {
                throw new ModelLoadException(model
                        + ": "
                        + kind
                        + " '"
                        + spec.name()
                        + "' has shape "
                        + Arrays.toString(shape)
                        + " in the ONNX file but "
                        + Arrays.toString(wanted)
                        + " in the config");
            }
            for (int d = 0; d < shape.length; d++) {
                // The config may pin a dimension the ONNX file leaves symbolic, not contradict a
                // fixed one.
                boolean dynamic = shape[d] < 0;
                if (!dynamic && shape[d] != wanted[d]) {
                    throw new ModelLoadException(model
                            + ": "
                            + kind
                            + " '"
                            + spec.name()
                            + "' dimension "
                            + d
                            + " is "
                            + (dynamic ? "dynamic" : shape[d])
                            + " in the ONNX file but "
                            + wanted[d]
                            + " in the config (shapes "
                            + Arrays.toString(shape)
                            + " vs "
                            + Arrays.toString(wanted)
                            + ")");
                }
            }
        }
    }

    /** Runs one all-zero batch of one, so the first real request does not pay for lazy set-up. */
    private void warmUp(LoadedModel model) {
        List<OnnxTensor> tensors = new ArrayList<>();
        try {
            Map<String, OnnxTensor> inputs = new LinkedHashMap<>();
            for (TensorSpec spec : model.config().inputs()) {
                long[] shape = spec.shape().clone();
                for (int d = 0; d < shape.length; d++) {
                    if (shape[d] < 0) {
                        shape[d] = 1;
                    }
                }
                OnnxTensor tensor = Tensors.zeros(env, spec.datatype(), shape);
                tensors.add(tensor);
                inputs.put(spec.name(), tensor);
            }
            List<String> outputs =
                    model.config().outputs().stream().map(TensorSpec::name).toList();
            try (OrtSession.Result ignored = model.run(inputs, outputs)) {
                LOG.debugf("Warmed up %s v%d", model.name(), model.version());
            }
        } catch (OrtException e) {
            throw new ModelLoadException(
                    "Model " + model.name() + " v" + model.version() + ": warm-up run failed: " + e.getMessage(), e);
        } finally {
            tensors.forEach(OnnxTensor::close);
        }
    }

    /**
     * Refuses a model file whose SHA-256 differs from the one its config.json names; a config
     * without a digest loads with a warning, since nothing says what the file should be.
     */
    static void verifyDigest(String name, int version, Path file, String expected) {
        if (expected == null || expected.isBlank()) {
            LOG.warnf("Model %s v%d: config.json has no sha256; %s is loaded unverified", name, version, file);
            return;
        }
        String actual;
        try {
            actual = ModelRepository.sha256(file);
        } catch (IOException e) {
            throw new ModelLoadException(
                    "Model "
                            + name
                            + " v"
                            + version
                            + ": cannot read "
                            + file
                            + " to check its sha256: "
                            + e.getMessage(),
                    e);
        }
        if (!actual.equalsIgnoreCase(expected.trim())) {
            throw new ModelLoadException("Model "
                    + name
                    + " v"
                    + version
                    + ": "
                    + file
                    + " has sha256 "
                    + actual
                    + " but config.json expects "
                    + expected.trim()
                    + "; refusing to load it");
        }
    }

    private static void closeQuietly(OrtSession session) {
        try {
            session.close();
        } catch (OrtException e) {
            LOG.debug("Closing a rejected session failed", e);
        }
    }

    /** The Java element type ONNX Runtime uses for an OIP datatype. */
    static OnnxJavaType javaType(String datatype) {
        return Datatypes.toOnnx(datatype);
    }
}
