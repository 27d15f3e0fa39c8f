package dev.gblm.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Gradients must not depend on when the garbage collector runs. A temporary scalar closed before
 * backward() (DJL's {@code NDArray.mul(Number)}) left autograd reading a freed Java direct buffer: the
 * attention-scale step corrupted dL/dq of a layer and every layer below it (found by the quality report,
 * where repeated gblm runs gave different perplexities and sometimes NaN statistics). A background thread
 * forces collections while the same sample runs forward+backward repeatedly; every gradient must be
 * bit-identical to the first.
 */
class GradientDeterminismTest {
    @Test
    void gradientsAreBitIdenticalWhileTheGcRuns() throws Exception {
        Checkpoint ckpt = Checkpoints.load(Path.of("models/stories260K/stories260K.bin"));
        int[] tokens = new int[200];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = i == 0 ? 1 : 3 + (i * 37) % 500;
        }
        AtomicBoolean stop = new AtomicBoolean();
        Thread gc = new Thread(() -> {
            while (!stop.get()) {
                System.gc();
                java.nio.ByteBuffer.allocateDirect(1 << 16); // churn direct memory so freed buffers get reused
                Thread.onSpinWait();
            }
        });
        gc.setDaemon(true);
        try (LlamaModel m = LlamaModel.load(ckpt)) {
            gc.start();
            List<float[]> first = null;
            for (int rep = 0; rep < 12; rep++) {
                List<float[]> grads = new ArrayList<>();
                m.forwardBackward(tokens, null, (layer, kind, g) -> {
                    if (layer == 0 && (kind == LinearKind.Q_PROJ || kind == LinearKind.DOWN_PROJ)) {
                        grads.add(g.toFloatArray());
                    }
                });
                if (first == null) {
                    first = grads;
                } else {
                    for (int i = 0; i < first.size(); i++) {
                        assertThat(grads.get(i)).as("repetition %d, module %d", rep, i).containsExactly(first.get(i));
                    }
                }
            }
        } finally {
            stop.set(true);
            gc.join();
        }
    }
}
