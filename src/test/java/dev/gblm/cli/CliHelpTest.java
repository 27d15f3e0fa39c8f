package dev.gblm.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;

/** Every option and parameter of every command is documented, and every usage text renders cleanly. */
class CliHelpTest {

    /** The whole command tree as {@link Main} builds it. */
    private static List<CommandLine> allCommands() {
        CommandLine root = new CommandLine(new Main());
        Commands.all().forEach(root::addSubcommand);
        List<CommandLine> out = new ArrayList<>();
        collect(root, out);
        return out;
    }

    private static void collect(CommandLine c, List<CommandLine> out) {
        out.add(c);
        c.getSubcommands().values().stream().distinct().forEach(sub -> collect(sub, out));
    }

    @Test
    void everyOptionAndParameterHasADescription() {
        List<String> undocumented = new ArrayList<>();
        for (CommandLine c : allCommands()) {
            CommandSpec spec = c.getCommandSpec();
            List<ArgSpec> args = new ArrayList<>(spec.options());
            args.addAll(spec.positionalParameters());
            for (ArgSpec a : args) {
                String text = String.join(" ", a.description()).strip();
                if (text.isEmpty()) {
                    undocumented.add(spec.qualifiedName() + " " + a.paramLabel() + " " + a);
                }
            }
        }
        assertThat(undocumented).as("options without a description").isEmpty();
    }

    @Test
    void everyUsageRendersWithoutPlaceholdersLeft() {
        for (CommandLine c : allCommands()) {
            String usage = c.getUsageMessage(CommandLine.Help.Ansi.OFF);
            assertThat(usage).as(c.getCommandSpec().qualifiedName())
                    .doesNotContain("${")
                    .doesNotContain("default null")
                    .doesNotContain("default: null");
        }
    }
}
