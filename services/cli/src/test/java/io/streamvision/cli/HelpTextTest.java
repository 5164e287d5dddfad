package io.streamvision.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Every option of every subcommand has its help text from {@code Help.properties}: an option added
 * without a key there (or a key renamed) would show no description in {@code --help}.
 */
class HelpTextTest {

    @Test
    void everyOptionIsDescribed() {
        CommandLine vision = new CommandLine(new VisionCommand());
        List<String> undescribed = new ArrayList<>();
        int options = 0;
        for (CommandLine command : vision.getSubcommands().values()) {
            for (OptionSpec option : command.getCommandSpec().options()) {
                options++;
                String text = String.join(" ", option.description()).trim();
                if (text.isEmpty()) {
                    undescribed.add(command.getCommandName() + " " + option.longestName());
                }
            }
        }
        assertTrue(options > 40, "the subcommands' options were found: " + options);
        assertTrue(undescribed.isEmpty(), "options without a help text: " + undescribed);
    }

    @Test
    void subcommandTextsWinOverTheSharedOnes() {
        CommandLine vision = new CommandLine(new VisionCommand());
        String classify = String.join(
                " ",
                vision.getSubcommands()
                        .get("classify")
                        .getCommandSpec()
                        .findOption("--server")
                        .description());
        String caption = String.join(
                " ",
                vision.getSubcommands()
                        .get("caption")
                        .getCommandSpec()
                        .findOption("--server")
                        .description());
        assertTrue(classify.startsWith("Scoring service"), classify);
        assertTrue(caption.startsWith("Captioning service"), caption);
        String follow = String.join(
                " ",
                vision.getSubcommands()
                        .get("follow")
                        .getCommandSpec()
                        .findOption("--json")
                        .description());
        assertFalse(follow.contains("per image"), "follow has its own --json text: " + follow);
    }
}
