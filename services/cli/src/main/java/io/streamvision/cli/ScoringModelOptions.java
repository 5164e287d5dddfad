package io.streamvision.cli;

import picocli.CommandLine.Option;

/**
 * {@code -s/--server}, {@code -m/--model} and {@code --model-version}: a model on the scoring
 * service's gRPC endpoint, shared by the commands that call it.
 */
public class ScoringModelOptions {

    @Option(
            names = {"-s", "--server"},
            defaultValue = "${VISION_SCORING_GRPC:-localhost:8001}")
    String server;

    @Option(
            names = {"-m", "--model"},
            defaultValue = "fashion-cnn")
    String model;

    /** Empty: the version the server serves. */
    @Option(names = "--model-version", defaultValue = "")
    String version;
}
