package dev.gblm.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gblm.GblmException;
import dev.gblm.engine.LlamaModel;
import dev.gblm.engine.LossResult;
import dev.gblm.eval.EvalProtocols;
import dev.gblm.eval.Perplexity;
import dev.gblm.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Perplexity of a model on a text (chunk protocol or WikiText-2 protocol).")
final class EvalCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model = new ModelOptions();

    @Option(names = "--text", required = true, description = "evaluation text (UTF-8)")
    Path text;

    @Option(names = "--protocol", defaultValue = "chunks", completionCandidates = Choices.Protocols.class,
            description = "${COMPLETION-CANDIDATES}: chunks = documents split on blank lines, BOS + tokens, truncated "
                    + "to context+1; wikitext = joined rows, non-overlapping windows of --seq-len. Default: ${DEFAULT-VALUE}")
    String protocol;

    @Option(names = "--max-chunks", defaultValue = "" + Integer.MAX_VALUE,
            description = "evaluate at most this many chunks/windows (default: all)")
    int maxChunks;

    @Option(names = "--chunk-offset", defaultValue = "0", description = "skip this many chunks/windows first (default ${DEFAULT-VALUE})")
    int chunkOffset;

    @Option(names = "--seq-len", description = "context (chunks) or window length (wikitext); default: the model's")
    Integer seqLen;

    @Option(names = "--json", description = "print one JSON object instead of a line of text")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (maxChunks <= 0 || chunkOffset < 0) {
            throw new GblmException("--max-chunks must be positive and --chunk-offset non-negative");
        }
        String body = CliFiles.readText(text);
        long start = System.nanoTime();
        try (LlamaModel m = model.err(spec.commandLine().getErr()).load()) {
            Tokenizer tok = model.tokenizer();
            int context = m.config().maxSequenceLength(); // the sliding window when shorter
            int len = seqLen == null ? context : seqLen;
            if (len < 1) {
                throw new GblmException("--seq-len must be positive");
            }
            List<int[]> seqs = switch (protocol) {
                case "chunks" -> EvalProtocols.chunkSequences(body, tok, Math.min(len, context), chunkOffset, maxChunks);
                case "wikitext" -> {
                    if (len > context) {
                        throw new GblmException("--seq-len " + len + " exceeds the model's context " + context);
                    }
                    if (len < 2) {
                        throw new GblmException("--seq-len must be at least 2 for wikitext");
                    }
                    yield EvalProtocols.wikitextWindows(body, tok, len, chunkOffset, maxChunks);
                }
                default -> throw new GblmException("unknown --protocol '" + protocol + "' (chunks or wikitext)");
            };
            EvalProtocols.requireSome(seqs, text.toString());
            PrintWriter out = spec.commandLine().getOut();
            Progress progress = Progress.on(spec.commandLine().getErr(), "eval", seqs.size(), "sequences");
            LossResult r = Perplexity.evaluate(m, seqs, (done, total, soFar) -> progress.update(done,
                    String.format(Locale.ROOT, "%d tokens, ppl %.4f", soFar.count(), soFar.perplexity())));
            double seconds = (System.nanoTime() - start) / 1e9;
            if (json) {
                ObjectNode o = new ObjectMapper().createObjectNode();
                o.put("model", model.model.toString());
                o.put("protocol", protocol);
                o.put("sequences", seqs.size());
                o.put("tokens", r.count());
                o.put("nll", r.meanNll());
                o.put("perplexity", r.perplexity());
                o.put("seconds", seconds);
                out.println(o);
            } else {
                out.printf(Locale.ROOT, "perplexity %.4f  (mean NLL %.4f over %d tokens in %d sequences, %.1fs)%n",
                        r.perplexity(), r.meanNll(), r.count(), seqs.size(), seconds);
            }
        }
        spec.commandLine().getOut().flush();
        return 0;
    }
}
