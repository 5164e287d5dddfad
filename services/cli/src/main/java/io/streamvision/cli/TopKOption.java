package io.streamvision.cli;

import picocli.CommandLine.Option;

/** {@code -k/--top-k}, the number of labels per image, shared by the commands that return labels. */
public class TopKOption {

    @Option(
            names = {"-k", "--top-k"},
            defaultValue = "3")
    int value;
}
