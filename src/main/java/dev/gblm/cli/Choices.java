package dev.gblm.cli;

import dev.gblm.engine.ComputeDevice;
import dev.gblm.engine.StatsPass;
import dev.gblm.prune.GradNorm;
import dev.gblm.prune.Method;
import dev.gblm.prune.Normalization;
import dev.gblm.prune.TailRule;
import dev.gblm.prune.batch.PruneMode;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The fixed values of options that take a name, as picocli {@code completionCandidates}: usage texts list them
 * through {@code ${COMPLETION-CANDIDATES}}, and where an enum owns the names they come from it, so help and parser
 * cannot drift apart. Parsing itself stays with the enums, whose errors are the one {@code gblm: ...} line.
 */
final class Choices {
    private Choices() {}

    private abstract static class Fixed implements Iterable<String> {
        private final List<String> values;

        Fixed(List<String> values) {
            this.values = values;
        }

        @Override
        public Iterator<String> iterator() {
            return values.iterator();
        }
    }

    static final class Devices extends Fixed {
        Devices() {
            super(Arrays.stream(ComputeDevice.values()).map(ComputeDevice::toString).toList());
        }
    }

    static final class Methods extends Fixed {
        Methods() {
            super(Arrays.stream(Method.values()).map(Method::cliName).toList());
        }
    }

    /** Streaming jobs: SparseGPT needs full Hessians and weight updates, so it is batch-only. */
    static final class StreamingMethods extends Fixed {
        StreamingMethods() {
            super(Arrays.stream(Method.values()).filter(m -> m != Method.SPARSEGPT).map(Method::cliName).toList());
        }
    }

    static final class GradNorms extends Fixed {
        GradNorms() {
            super(Arrays.stream(GradNorm.values()).map(GradNorm::cliName).toList());
        }
    }

    static final class Normalizations extends Fixed {
        Normalizations() {
            super(Arrays.stream(Normalization.values()).map(Normalization::cliName).toList());
        }
    }

    static final class StatsPasses extends Fixed {
        StatsPasses() {
            super(Arrays.stream(StatsPass.values()).map(StatsPass::cliName).toList());
        }
    }

    /** The worker's passes: {@code auto} first (its default), then {@link StatsPasses}'. */
    static final class WorkerStatsPasses extends Fixed {
        WorkerStatsPasses() {
            super(Stream.concat(Stream.of("auto"), Arrays.stream(StatsPass.values()).map(StatsPass::cliName)).toList());
        }
    }

    static final class Modes extends Fixed {
        Modes() {
            super(Arrays.stream(PruneMode.values()).map(PruneMode::cliName).toList());
        }
    }

    static final class TailRules extends Fixed {
        TailRules() {
            super(Arrays.stream(TailRule.values()).map(t -> t.name().toLowerCase(Locale.ROOT)).toList());
        }
    }

    /** The patterns the paper evaluates; any other N:M parses too, which the descriptions say. */
    static final class Patterns extends Fixed {
        Patterns() {
            super(List.of("unstructured", "2:4", "4:8"));
        }
    }

    static final class Protocols extends Fixed {
        Protocols() {
            super(List.of("chunks", "wikitext"));
        }
    }

    static final class DocumentFormats extends Fixed {
        DocumentFormats() {
            super(List.of("text", "jsonl"));
        }
    }
}
