package dev.gblm.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.model.Checkpoints;
import dev.gblm.prune.batch.CalibrationSet;
import dev.gblm.stats.CalibrationStats;
import dev.gblm.stats.ModuleKey;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stats.StatKind;
import dev.gblm.stats.StatKinds;
import dev.gblm.testing.Errors;
import dev.gblm.testing.TestData;
import dev.gblm.testing.TinyStories;
import dev.gblm.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The monoid on real data: statistics of calibration samples 1..64 merged with those of 65..128 equal those
 * of 1..128 collected in one run, up to float32 summation order (quantified).
 */
class StatsMergeRealModelTest {

    @Test
    void halvesMergedEqualTheWhole() throws IOException {
        Tokenizer tok = TinyStories.tokenizer();
        CalibrationSet cal = TinyStories.calibration(tok);
        assertThat(cal.samples()).hasSize(128);
        // the ready-made file of shared/data is the same calibration set
        String ready = Files.readString(TestData.require("corpora/tinystories_calib_128.txt"));
        assertThat(CalibrationSet.build(CalibrationSet.documents(ready, false), tok, 128, 512)).isEqualTo(cal);

        StatKinds all = StatKinds.of(StatKind.GRAD, StatKind.ACT, StatKind.HESSIAN);
        List<int[]> s = cal.samples();
        try (LlamaModel model = LlamaModel.load(Checkpoints.load(TestData.require("models/stories260K.bin")))) {
            CalibrationStats first = collect(model, all, s.subList(0, 64));
            CalibrationStats second = collect(model, all, s.subList(64, 128));
            CalibrationStats whole = collect(model, all, s);
            CalibrationStats merged = first.merge(second);
            assertThat(second.merge(first).modules().keySet()).isEqualTo(whole.modules().keySet());

            double worst = 0;
            String where = "";
            for (ModuleKey k : whole.modules().keySet()) {
                ModuleStats a = merged.get(k.layer(), k.kind());
                ModuleStats b = whole.get(k.layer(), k.kind());
                assertThat(a.sampleCount()).isEqualTo(128);
                assertThat(a.sampleCount()).isEqualTo(b.sampleCount());
                assertThat(a.tokenCount()).isEqualTo(b.tokenCount()).isEqualTo(cal.tokens());
                float[][] pairs = {a.gradL1(), b.gradL1(), a.gradL2Sq(), b.gradL2Sq(), a.actSq(), b.actSq(),
                    a.hessian(), b.hessian()};
                String[] names = {"gradL1", "gradL2Sq", "actSq", "hessian"};
                for (int i = 0; i < 4; i++) {
                    double e = Errors.maxRelative(pairs[2 * i], pairs[2 * i + 1]);
                    if (e > worst) {
                        worst = e;
                        where = k + " " + names[i];
                    }
                }
            }
            System.out.printf("stats merge (1..64)+(65..128) vs 1..128: worst max-relative error %.3g at %s%n", worst, where);
            assertThat(worst).as("max |merged - whole| / max |whole|, worst at " + where + " = " + worst).isLessThan(1e-5);
        }
    }

    private static CalibrationStats collect(LlamaModel model, StatKinds kinds, List<int[]> samples) {
        try (StatsCollector c = new StatsCollector(model, kinds, 100f)) {
            for (int[] s : samples) {
                c.add(s);
            }
            return c.snapshot();
        }
    }
}
