package io.streamvision.cli;

import io.quarkus.picocli.runtime.annotations.TopCommand;
import picocli.CommandLine.Command;

/**
 * The {@code vision} command. Subcommands talk to the services over gRPC (classify, caption) or
 * Kafka (submit-images, submit-videos, follow). Exit codes are listed in {@link ExitCodes}; the
 * options' help texts are in {@code Help.properties} beside this class.
 */
@TopCommand
@Command(
        name = "vision",
        mixinStandardHelpOptions = true,
        version = "vision 0.1.0",
        resourceBundle = "io.streamvision.cli.Help",
        description = "Client for the streamvision services: classify and caption images over gRPC, "
                + "stream images and videos through Kafka, follow result topics.",
        subcommands = {
            ClassifyCommand.class,
            CaptionCommand.class,
            SubmitImagesCommand.class,
            SubmitVideosCommand.class,
            FollowCommand.class,
            PerfCommand.class
        },
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:every input succeeded",
            "1:some inputs failed (each is reported with its reason)",
            "2:usage error (unknown option, missing argument)",
            "3:a server or broker could not be reached",
            "4:an input file is missing, unreadable or of an unsupported format",
            "5:timed out waiting for results"
        })
public class VisionCommand {}
