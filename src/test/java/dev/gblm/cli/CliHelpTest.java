package dev.gblm.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.prune.GradNorm;
import dev.gblm.prune.Method;
import dev.gblm.prune.SparsityPattern;
import dev.gblm.prune.batch.PruneMode;
import dev.gblm.stream.ingest.DocumentReader;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

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

    /** Options of gblm's own commands that take one of a fixed set of names. */
    static final Set<String> FIXED_VALUE_OPTIONS =
            Set.of("--method", "--grad-norm", "--pattern", "--tail-rule", "--mode", "--protocol", "--format");

    @Test
    void everyEnumOrFixedValueOptionListsItsValuesInTheHelp() {
        List<String> unlisted = new ArrayList<>();
        List<String> withoutCandidates = new ArrayList<>();
        for (CommandLine c : allCommands()) {
            CommandSpec spec = c.getCommandSpec();
            boolean ours = spec.userObject().getClass().getPackageName().equals("dev.gblm.cli");
            for (OptionSpec o : spec.options()) {
                boolean fixed = o.type().isEnum() || o.completionCandidates() != null;
                if (ours && FIXED_VALUE_OPTIONS.contains(o.longestName()) && !fixed) {
                    withoutCandidates.add(spec.qualifiedName() + " " + o.longestName());
                }
                if (!fixed) {
                    continue;
                }
                String help = String.join(" ", o.renderedDescription());
                for (String value : StreamSupport.stream(o.completionCandidates().spliterator(), false).toList()) {
                    if (!help.contains(value)) {
                        unlisted.add(spec.qualifiedName() + " " + o.longestName() + ": " + value + " not in '" + help + "'");
                    }
                }
            }
        }
        assertThat(withoutCandidates).as("fixed-value options without completionCandidates").isEmpty();
        assertThat(unlisted).as("values missing from --help").isEmpty();
    }

    @Test
    void listedValuesAreWhatTheParsersAccept() {
        new Choices.Methods().forEach(Method::parse);
        new Choices.StreamingMethods().forEach(Method::parse);
        new Choices.GradNorms().forEach(GradNorm::parse);
        new Choices.Modes().forEach(PruneMode::parse);
        new Choices.Patterns().forEach(p -> SparsityPattern.parse(p, p.equals("unstructured") ? 0.5 : null));
        new Choices.DocumentFormats().forEach(DocumentReader.Format::parse);
        assertThat(new Choices.TailRules()).containsExactlyInAnyOrder("proportional", "reference");
        assertThat(new Choices.Protocols()).containsExactly("chunks", "wikitext");
    }

    @Test
    void pruneHelpListsTheChoices() {
        String usage = allCommands().stream().filter(c -> c.getCommandName().equals("prune")).findFirst().orElseThrow()
                .getUsageMessage(CommandLine.Help.Ansi.OFF).replaceAll("\\s+", " ");
        assertThat(usage).contains("pruning method: magnitude, wanda, gradient, gblm, sparsegpt",
                "sparsity pattern: unstructured, 2:4, 4:8 or any other N:M", "sequential, one-shot:");
    }
}
