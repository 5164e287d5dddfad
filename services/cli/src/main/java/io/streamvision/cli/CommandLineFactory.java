package io.streamvision.cli;

import io.quarkus.picocli.runtime.PicocliCommandLineFactory;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import picocli.CommandLine;

/** The command line with failures reported as one message and a documented exit code. */
@ApplicationScoped
public class CommandLineFactory {

    @Produces
    CommandLine commandLine(PicocliCommandLineFactory factory) {
        return factory.create().setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof CliException cli) {
                cmd.getErr().println("vision " + cmd.getCommandName() + ": " + cli.getMessage());
                return cli.exitCode();
            }
            cmd.getErr().println("vision " + cmd.getCommandName() + ": " + e);
            return ExitCodes.SOME_FAILED;
        });
    }
}
