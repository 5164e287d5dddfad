package io.streamvision.preprocess.streams;

import io.streamvision.imaging.ImageDecoder;
import io.streamvision.imaging.ImageLimits;
import io.streamvision.kafka.DeadLetters;
import io.streamvision.kafka.Topics;
import io.streamvision.model.ModelCatalog;
import io.streamvision.model.ModelRepository;
import io.streamvision.preprocess.ImageModels;
import io.streamvision.tracing.RecordTracing;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;

/**
 * The image topology in a {@link TopologyTestDriver}, built as the service builds it, over the test
 * model repository with {@value #MODEL} as the default model: images in, that model's tensors and
 * the dead letters out. Not thread-safe; close it after the test.
 */
public final class ImageTopologyHarness implements AutoCloseable {

    public static final String MODEL = "tiny-gray";

    private final Topics topics = new Topics("");
    private final TopologyTestDriver driver;

    public ImageTopologyHarness(String applicationId, ImageLimits limits, int deadLetterPayloadCap) {
        ModelCatalog catalog =
                new ModelCatalog(new ModelRepository(Path.of("src/test/resources/model-repo")), Duration.ofMinutes(1));
        ImagePreparation preparation = new ImagePreparation(
                topics,
                new DeadLetters(topics.deadLetters(), deadLetterPayloadCap),
                new ImageModels(catalog, List.of(MODEL), true),
                new ImageDecoder(limits, 0),
                RecordTracing.OFF);
        StreamsBuilder builder = new StreamsBuilder();
        PreprocessTopology.build(builder, topics, preparation);
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        driver = new TopologyTestDriver(builder.build(), props);
    }

    public TestInputTopic<byte[], byte[]> images() {
        return driver.createInputTopic(topics.images().name(), new ByteArraySerializer(), new ByteArraySerializer());
    }

    public TestOutputTopic<byte[], byte[]> tensors() {
        return driver.createOutputTopic(
                topics.tensors(MODEL).name(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    public TestOutputTopic<byte[], byte[]> deadLetters() {
        return driver.createOutputTopic(
                topics.deadLetters().name(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    @Override
    public void close() {
        driver.close();
    }
}
