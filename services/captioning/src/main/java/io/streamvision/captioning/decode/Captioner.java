package io.streamvision.captioning.decode;

import io.quarkus.runtime.Startup;
import io.streamvision.captioning.CaptioningConfig;
import io.streamvision.model.ModelConfig;
import io.streamvision.proto.vision.v1.Caption;
import io.streamvision.proto.vision.v1.CaptionHypothesis;
import io.streamvision.runtime.LoadedModel;
import io.streamvision.runtime.ServedModels;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * Writes captions with the served decoder. The decoder model follows the shared model lifecycle
 * ({@link ServedModels}: loaded at start, new versions swapped in by the repository poll); for each
 * version it serves, the vocabulary is read and the {@link BeamSearchDecoder} built once, and the
 * encoder's config (whose image input the Caption call prepares) is re-read after each poll, not on
 * each call.
 *
 * <p>Thread-safe.
 */
@ApplicationScoped
@Startup
public class Captioner {

    private static final Logger LOG = Logger.getLogger(Captioner.class);

    /** The decoder version in service with what was built for it. */
    private record Version(LoadedModel model, Vocabulary vocabulary, BeamSearchDecoder decoder) {}

    @Inject
    CaptioningConfig config;

    @Inject
    ServedModels models;

    private volatile Version current;
    private volatile ModelConfig encoder;

    /** The decoder in the shared model lifecycle, loaded when the application starts. */
    @Produces
    @Singleton
    static ServedModels servedModels(CaptioningConfig config) {
        return ServedModels.start(config, List.of(config.decoder()));
    }

    static void close(@Disposes ServedModels models) {
        models.close();
    }

    /**
     * Before the first call, so that the Kafka loop, which may start before this bean, never
     * sees a decoder without its vocabulary and encoder.
     */
    @PostConstruct
    void start() {
        models.afterEachPoll(this::refresh);
    }

    /** Builds the decoder of a newly served version and re-reads the encoder's config. */
    private synchronized void refresh() {
        LoadedModel model = models.registry().current(config.decoder());
        if (model == null) {
            return;
        }
        Version version = current;
        if (version == null || version.model() != model) {
            version = build(model);
        }
        String encoderName = version.model().config().encoder();
        encoder = encoderName == null
                ? null
                : models.runtime().repository().latest(encoderName).orElse(null);
    }

    private synchronized Version build(LoadedModel model) {
        Version version = current;
        if (version != null && version.model() == model) {
            return version;
        }
        ModelConfig c = model.config();
        Vocabulary vocabulary = Vocabulary.read(models.runtime()
                .repository()
                .versionDir(c.name(), c.version())
                .resolve(c.vocab() == null ? "vocab.json" : c.vocab()));
        version = new Version(
                model, vocabulary, new BeamSearchDecoder(models.runtime().environment(), model, vocabulary));
        current = version;
        LOG.infof(
                "Caption decoder %s v%d reads features of %s; vocabulary of %d tokens",
                c.name(), c.version(), c.encoder(), vocabulary.tokens().size());
        return version;
    }

    /** The shared lifecycle of the decoder model. */
    public ServedModels models() {
        return models;
    }

    /** True when the decoder and its vocabulary are loaded. */
    public boolean ready() {
        return models.ready() && current != null;
    }

    /** Encoder whose features the decoder reads, or null when not loaded. */
    public String encoderName() {
        Version version = current;
        return version == null ? null : version.model().config().encoder();
    }

    /**
     * The encoder's config (its image input spec) as of the last repository poll; null when
     * unknown.
     */
    public ModelConfig encoderConfig() {
        return encoder;
    }

    /** Captions for a batch of feature vectors, with the configured search. */
    public List<Caption> caption(List<String> requestIds, List<float[]> features) throws Exception {
        return caption(requestIds, features, config.beamWidth());
    }

    /** Captions for a batch of feature vectors with a given beam width. */
    public List<Caption> caption(List<String> requestIds, List<float[]> features, int beamWidth) throws Exception {
        LoadedModel model = models.registry()
                .acquire(config.decoder(), "")
                .orElseThrow(() -> new IllegalStateException("caption decoder " + config.decoder() + " is not loaded"));
        try {
            Version version = current;
            if (version == null || version.model() != model) {
                version = build(model);
            }
            Vocabulary vocabulary = version.vocabulary();
            int maxTokens = config.maxTokens() > 0 ? config.maxTokens() : vocabulary.maxLength();
            List<BeamSearchDecoder.Result> results = version.decoder()
                    .decode(features, beamWidth, config.minTokens(), maxTokens, config.lengthPenaltyAlpha());
            List<Caption> captions = new ArrayList<>(results.size());
            for (int i = 0; i < results.size(); i++) {
                captions.add(caption(requestIds.get(i), results.get(i), model, vocabulary, beamWidth));
            }
            return captions;
        } finally {
            model.release();
        }
    }

    private Caption caption(
            String requestId,
            BeamSearchDecoder.Result result,
            LoadedModel model,
            Vocabulary vocabulary,
            int beamWidth) {
        Caption.Builder caption = Caption.newBuilder()
                .setRequestId(requestId)
                .setText(vocabulary.text(result.best().tokens()))
                .addAllTokenIds(result.best().tokens())
                .setLogProbability((float) result.best().logProbability())
                .setEncoderModel(
                        model.config().encoder() == null ? "" : model.config().encoder())
                .setDecoderModel(model.name())
                .setDecoderVersion(Integer.toString(model.version()))
                .setSearch(beamWidth > 1 ? "beam" : "greedy")
                .setBeamWidth(Math.max(1, beamWidth));
        for (int a = 1; a < result.ranked().size() && a <= config.alternatives(); a++) {
            BeamSearchDecoder.Hypothesis h = result.ranked().get(a);
            caption.addAlternatives(CaptionHypothesis.newBuilder()
                    .setText(vocabulary.text(h.tokens()))
                    .setLogProbability((float) h.logProbability()));
        }
        return caption.build();
    }
}
