package dev.gblm.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.gblm.engine.LlamaModel;
import dev.gblm.engine.LossResult;
import dev.gblm.model.Checkpoints;
import dev.gblm.testing.TestData;
import dev.gblm.tokenizer.Llama2cTokenizer;
import dev.gblm.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The real pretrained stories260K against the independently measured reference figures. */
class Stories260KTest {
    static LlamaModel model;
    static Tokenizer tok;

    @BeforeAll
    static void load() {
        model = LlamaModel.load(Checkpoints.load(TestData.require("models/stories260K.bin")));
        tok = Llama2cTokenizer.load(TestData.require("models/tok512.bin"));
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    @Test
    void densePerplexityOnFirst100ChunksMatchesReference() throws Exception {
        String text = Files.readString(TestData.require("corpora/tinystories_val_head.txt"));
        List<int[]> seqs = EvalProtocols.chunkSequences(text, tok, 512, 0, 100);
        LossResult r = Perplexity.evaluate(model, seqs, null);
        assertThat(r.count()).isEqualTo(9618);
        assertThat(r.meanNll()).isCloseTo(1.4314, within(0.00006));
        assertThat(r.perplexity()).isCloseTo(4.184, within(0.002));
    }

    @Test
    void greedyGenerationFromBosTellsTheKnownStory() {
        String text = new Generator(model, tok).generate("", 40, 0, 0);
        assertThat(text).startsWith(
                "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.");
    }
}
