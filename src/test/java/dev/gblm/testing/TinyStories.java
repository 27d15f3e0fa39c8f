package dev.gblm.testing;

import dev.gblm.eval.EvalProtocols;
import dev.gblm.prune.batch.CalibrationSet;
import dev.gblm.tokenizer.Llama2cTokenizer;
import dev.gblm.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.List;

/** The TinyStories protocols of shared/data/README.md for stories260K (skips the test without the data). */
public final class TinyStories {
    private TinyStories() {}

    public static Tokenizer tokenizer() {
        return Llama2cTokenizer.load(TestData.require("models/tok512.bin"));
    }

    public static String valHead() {
        try {
            return Files.readString(TestData.require("corpora/tinystories_val_head.txt"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Calibration set: chunks 500..627, each [BOS] + tokens truncated to the context (512). */
    public static CalibrationSet calibration(Tokenizer tok) {
        List<String> chunks = EvalProtocols.chunks(valHead());
        return CalibrationSet.build(chunks.subList(500, 628), tok, 128, 512);
    }

    /** Evaluation set: the first 100 chunks, [BOS] + tokens truncated to 513. */
    public static List<int[]> evaluation(Tokenizer tok) {
        return EvalProtocols.chunkSequences(valHead(), tok, 512, 0, 100);
    }
}
