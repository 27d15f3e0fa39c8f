package dev.gblm.cli;

import dev.gblm.GblmException;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.Json;
import dev.gblm.stream.Profile;
import dev.gblm.stream.Topics;
import dev.gblm.stream.job.JobClient;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code gblm job submit|list|status|delete}: pruning jobs on gblm.jobs, or on a team's gblm.jobs.TEAM. */
@Command(name = "job", mixinStandardHelpOptions = true, description = "Submit, list, inspect and delete streaming pruning jobs.",
        subcommands = {JobCommand.Submit.class, JobCommand.ListJobs.class, JobCommand.Status.class, JobCommand.Delete.class})
final class JobCommand {
    private static final String TEAM_HELP = "the team that owns the job: it goes to the team's topic gblm.jobs.TEAM, its id must "
            + "start with 'TEAM.', and it may use only streams the team may read (connect as the team: --kafka-config)";

    @Command(name = "submit", mixinStandardHelpOptions = true,
            description = "Validates a job and writes it to gblm.jobs, or with --team to gblm.jobs.TEAM (same id = replace). Streams whose topic does not exist yet are reported, not refused.")
    static final class Submit implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        KafkaOptions.Bootstrap kafka = new KafkaOptions.Bootstrap();
        @Option(names = "--id", required = true, description = "job id; submitting an existing id replaces that job")
        String id;
        @Option(names = "--team", paramLabel = "TEAM", description = TEAM_HELP)
        String team;
        @Option(names = "--profile", paramLabel = "ID", description = "profile id of the statistics (16 hex digits, as the worker logs it)")
        String profile;
        @Option(names = "--model", paramLabel = "PATH", description = "derive the profile from this model instead (with --seq-len, --grad-scale, --max-record-bytes)")
        Path model;
        @Option(names = "--seq-len", paramLabel = "N", description = "with --model: the workers' tokens per sample (default: the model's context)")
        Integer seqLen;
        @Option(names = "--grad-scale", defaultValue = "100", description = "with --model: the workers' gradient scale s (default ${DEFAULT-VALUE})")
        float gradScale;
        @Option(names = "--max-record-bytes", defaultValue = "1048576", paramLabel = "BYTES",
                description = "with --model: the workers' --max-record-bytes (row-block layout; part of the profile; default ${DEFAULT-VALUE})")
        long maxRecordBytes;
        @Option(names = "--streams", required = true, split = ",", paramLabel = "a,b", description = "calibration streams whose samples the job uses, comma-separated")
        List<String> streams;
        @Option(names = "--method", required = true, completionCandidates = Choices.StreamingMethods.class,
                description = "pruning score: ${COMPLETION-CANDIDATES} (sparsegpt is batch-only: gblm prune)")
        String method;
        @Option(names = "--sparsity", description = "fraction to prune, in (0, 1); for N:M it must be N/M (may be omitted there)")
        Double sparsity;
        @Option(names = "--pattern", defaultValue = "unstructured", completionCandidates = Choices.Patterns.class,
                description = "sparsity pattern: ${COMPLETION-CANDIDATES} or any other N:M (default ${DEFAULT-VALUE})")
        String pattern;
        @Option(names = "--tail-rule", completionCandidates = Choices.TailRules.class,
                description = "N:M trailing partial group rule: ${COMPLETION-CANDIDATES} (default: proportional)")
        String tailRule;
        @Option(names = "--grad-norm", defaultValue = "l1", completionCandidates = Choices.GradNorms.class,
                description = "gradient norm of the gblm/gradient score: ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE})")
        String gradNorm;
        @Option(names = "--alpha", paramLabel = "s|NUMBER|inf|auto", description = "gblm only: weight of the gradient "
                + "term in raw-gradient units; s = the workers' --grad-scale (the paper's score), 0 = activations only "
                + "(Wanda), inf = gradients only; auto = every epoch is pruned at each alpha of --alpha-grid and the one "
                + "with the lowest held-out perplexity is exported (needs --holdout > 0) (default: s)")
        String alpha;
        @Option(names = "--alpha-grid", split = ",", paramLabel = "ALPHA", description = "with --alpha auto: the alphas "
                + "to choose from, comma-separated numbers >= 0 or inf (default: 0,1,10,100,1000,10000,inf)")
        List<String> alphaGrid;
        @Option(names = "--holdout", defaultValue = "0", paramLabel = "FRACTION", description = "fraction of the streams' "
                + "samples held out of the statistics, on which each epoch's held-out perplexity is measured; at most "
                + "the workers' --holdout (default ${DEFAULT-VALUE} = none)")
        double holdout;
        @Option(names = "--worker-holdout", defaultValue = "0", paramLabel = "FRACTION",
                description = "with --model: the workers' --holdout (part of the profile; default ${DEFAULT-VALUE})")
        double workerHoldout;
        @Option(names = "--normalization", completionCandidates = Choices.Normalizations.class, description = "gblm "
                + "only: ${COMPLETION-CANDIDATES}; sum = the paper's sums over samples (as gblm prune), mean = "
                + "per-sample means, so the gradient term weighs the same in every re-pruning epoch whatever its "
                + "sample count (default: sum)")
        String normalization;
        @Option(names = "--min-samples", defaultValue = "128", description = "samples the job waits for before its first epoch (default ${DEFAULT-VALUE})")
        int minSamples;
        @Option(names = "--refresh-every", defaultValue = "0", description = "N = re-prune: a new epoch once N new samples (whole slices) arrived after the last epoch was "
                        + "finalized; 0 = one epoch only (default ${DEFAULT-VALUE})")
        long refreshEvery;
        @Option(names = "--window", defaultValue = "0", description = "with --refresh-every: N = each epoch prunes on the newest N samples (whole slices, at least "
                        + "--min-samples); 0 = on every sample since the start, kept as a running base sum (default ${DEFAULT-VALUE})")
        long window;

        @Override
        public Integer call() {
            String profileId = resolveProfile();
            JobSpec job = new JobSpec(id, profileId, streams, method, sparsity, pattern, tailRule, gradNorm, minSamples,
                    refreshEvery, window, team, alpha, normalization, holdout, alphaGrid);
            JobClient.Submitted s = new JobClient(kafka.settings()).submit(job);
            for (String missing : s.missingStreams()) {
                spec.commandLine().getErr().println("warning: stream '" + missing + "' has no topic calib." + missing
                        + " yet; the job waits until samples are ingested there");
            }
            spec.commandLine().getOut().println("submitted " + new String(Json.write(s.spec()), java.nio.charset.StandardCharsets.UTF_8));
            return 0;
        }

        /** The profile id the job is submitted for (from --profile, or derived from --model like the workers do). */
        String resolveProfile() {
            if (profile != null && model != null) {
                throw new GblmException("give either --profile or --model, not both");
            }
            if (profile != null) {
                return Profile.requireValidId(profile);
            }
            if (model != null) {
                return ProfileFromModel.profile(model, seqLen, gradScale, maxRecordBytes, workerHoldout).id();
            }
            throw new GblmException("a job needs --profile ID (or --model PATH)");
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists the current jobs (latest definition per id): "
            + "all of gblm.jobs (admin jobs and every team's, relayed by the finalizer), or with --team those of gblm.jobs.TEAM.")
    static final class ListJobs implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        KafkaOptions.Bootstrap kafka = new KafkaOptions.Bootstrap();
        @Option(names = "--team", paramLabel = "TEAM", description = "list the jobs of this team's topic gblm.jobs.TEAM")
        String team;

        @Override
        public Integer call() {
            Map<String, Object> jobs = new JobClient(kafka.settings()).list(team == null ? null : Topics.requireTeam(team));
            if (jobs.isEmpty()) {
                spec.commandLine().getOut().println("no jobs");
            }
            jobs.forEach((id, j) -> spec.commandLine().getOut().println(j instanceof JobSpec js
                    ? String.format(Locale.ROOT, "%-24s profile %s  %s %s sparsity %.3f  streams %s  minSamples %d", id, js.profile(), js.method(),
                            js.pattern(), js.sparsity(), String.join(",", js.streams()), js.minSamples())
                    : id + "  " + j));
            return 0;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true,
            description = "Deletes a job (a tombstone on gblm.jobs, or with --team on gblm.jobs.TEAM): no further epochs; exported models stay.")
    static final class Delete implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        KafkaOptions.Bootstrap kafka = new KafkaOptions.Bootstrap();
        @Parameters(paramLabel = "ID", description = "job id")
        String id;
        @Option(names = "--team", paramLabel = "TEAM", description = TEAM_HELP)
        String team;

        @Override
        public Integer call() {
            new JobClient(kafka.settings()).delete(id, team == null ? null : Topics.requireTeam(team));
            spec.commandLine().getOut().println("deleted job " + id);
            return 0;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = "Shows a job: its definition, its state (waiting, refused with the reason, finalizing, finalized), samples so far, "
                    + "the sample count of its next epoch, and each epoch with its exported model.")
    static final class Status implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        KafkaOptions.Bootstrap kafka = new KafkaOptions.Bootstrap();
        @Parameters(paramLabel = "ID", description = "job id")
        String id;
        @Option(names = "--team", paramLabel = "TEAM", description = "the job's team (read its definition from gblm.jobs.TEAM)")
        String team;
        @Option(names = "--json", description = "print the whole report as JSON")
        boolean json;

        @Override
        public Integer call() {
            JobClient.Report r = new JobClient(kafka.settings()).status(id, team == null ? null : Topics.requireTeam(team));
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(new String(Json.write(r), StandardCharsets.UTF_8));
                return r.spec() == null && r.status() == null && r.epochs().isEmpty() ? 1 : 0;
            }
            if (r.spec() == null && r.status() == null && r.epochs().isEmpty()) {
                throw new GblmException("no job " + id + (team == null ? " on gblm.jobs" : " on gblm.jobs." + team));
            }
            out.println(JobStatusText.render(r));
            return 0;
        }
    }
}
