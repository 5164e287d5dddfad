package io.streamvision.captioning.decode;

import java.nio.file.Path;
import java.util.List;

import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.quarkus.runtime.StartupEvent;
import io.streamvision.captioning.CaptioningConfig;
import io.streamvision.model.ModelConfig;
import io.streamvision.model.ModelRepository;
import io.streamvision.proto.vision.v1.Caption;
import io.streamvision.proto.vision.v1.CaptionHypothesis;
import io.streamvision.runtime.ExecutionSettings;
import io.streamvision.runtime.LoadedModel;
import io.streamvision.runtime.ModelRegistry;
import io.streamvision.runtime.OnnxRuntime;

/** The caption decoder in service: its session, vocabulary and search settings. */
@ApplicationScoped
public class CaptionModels {

    private static final Logger LOG = Logger.getLogger(CaptionModels.class);

    @Inject
    CaptioningConfig config;

    private ModelRegistry registry;
    private OnnxRuntime runtime;
    private Vocabulary vocabulary;

    void onStart(@Observes StartupEvent event) {
        registry();
    }

    @PostConstruct
    void load() {
        runtime = new OnnxRuntime(new ModelRepository(Path.of(config.modelsDir())), ExecutionSettings.CPU);
        registry = new ModelRegistry(runtime, List.of(config.decoder()));
        registry.refresh();
        registry.serving().values().stream().findFirst().ifPresent(model -> {
            ModelConfig c = model.config();
            vocabulary = Vocabulary.read(runtime.repository().versionDir(c.name(), c.version())
                    .resolve(c.vocab() == null ? "vocab.json" : c.vocab()));
            LOG.infof("Caption decoder %s v%d reads features of %s; vocabulary of %d tokens", c.name(), c.version(),
                    c.encoder(), vocabulary.tokens().size());
        });
    }

    public ModelRegistry registry() {
        return registry;
    }

    /** True when the decoder and its vocabulary are loaded. */
    public boolean ready() {
        return registry != null && registry.allLoaded() && vocabulary != null;
    }

    /** Encoder whose features the decoder reads, or null when not loaded. */
    public String encoderName() {
        return registry.serving().values().stream().findFirst().map(m -> m.config().encoder()).orElse(null);
    }

    /** Captions for a batch of feature vectors, with the configured search. */
    public List<Caption> caption(List<String> requestIds, List<float[]> features) throws Exception {
        return caption(requestIds, features, config.beamWidth());
    }

    /** The encoder's config (its image input spec), read from the repository. */
    public ModelConfig encoderConfig() {
        String encoder = encoderName();
        return encoder == null ? null : runtime.repository().latest(encoder).orElse(null);
    }

    /** Captions for a batch of feature vectors with a given beam width. */
    public List<Caption> caption(List<String> requestIds, List<float[]> features, int beamWidth) throws Exception {
        LoadedModel model = registry.acquire(config.decoder(), "").orElseThrow(
                () -> new IllegalStateException("caption decoder " + config.decoder() + " is not loaded"));
        try {
            BeamSearchDecoder decoder = new BeamSearchDecoder(runtime.environment(), model, vocabulary);
            int maxTokens = config.maxTokens() > 0 ? config.maxTokens() : vocabulary.maxLength();
            List<BeamSearchDecoder.Result> results = decoder.decode(features, beamWidth, config.minTokens(),
                    maxTokens, config.lengthPenaltyAlpha());
            List<Caption> captions = new java.util.ArrayList<>(results.size());
            for (int i = 0; i < results.size(); i++) {
                BeamSearchDecoder.Result result = results.get(i);
                Caption.Builder caption = Caption.newBuilder()
                        .setRequestId(requestIds.get(i))
                        .setText(vocabulary.text(result.best().tokens()))
                        .addAllTokenIds(result.best().tokens())
                        .setLogProbability((float) result.best().logProbability())
                        .setEncoderModel(model.config().encoder() == null ? "" : model.config().encoder())
                        .setDecoderModel(model.name())
                        .setDecoderVersion(Integer.toString(model.version()))
                        .setSearch(beamWidth > 1 ? "beam" : "greedy")
                        .setBeamWidth(Math.max(1, beamWidth));
                for (int a = 1; a < result.ranked().size() && a <= config.alternatives(); a++) {
                    BeamSearchDecoder.Hypothesis h = result.ranked().get(a);
                    caption.addAlternatives(CaptionHypothesis.newBuilder().setText(vocabulary.text(h.tokens()))
                            .setLogProbability((float) h.logProbability()));
                }
                captions.add(caption.build());
            }
            return captions;
        } finally {
            model.release();
        }
    }

    @PreDestroy
    void stop() {
        if (registry != null) {
            registry.close();
        }
    }
}
