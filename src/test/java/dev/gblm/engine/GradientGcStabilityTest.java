package dev.gblm.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.model.LinearKind;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Regression test for a use-after-free in the backward pass: DJL's {@code NDArray.mul(Number)} wraps the scalar
 * in a tensor over a Java direct buffer and closes it right after the forward op, while PyTorch's autograd keeps
 * the tensor for the backward. A garbage collection between forward and backward then frees the buffer, and the
 * gradients upstream of the multiplication (the attention query scaling) come out wrong while the loss and the
 * activations stay right. Here a background thread forces collections while the same sample is differentiated
 * many times: every run must give bit-identical gradients.
 */
class GradientGcStabilityTest {
    static final Path TINY = Path.of("src/test/resources/fixtures/tiny/model");

    @Test
    void gradientsAreIdenticalWhileTheGarbageCollectorRuns() throws Exception {
        checkUnderGcChurn(false);
    }

    /** The layer-major pass builds its own backward seeds and weight copies: the same guarantee. */
    @Test
    void layerMajorGradientsAreIdenticalWhileTheGarbageCollectorRuns() throws Exception {
        checkUnderGcChurn(true);
    }

    private static void checkUnderGcChurn(boolean layerMajor) throws Exception {
        Checkpoint ckpt = Checkpoints.load(TINY);
        int[] tokens = new Random(3).ints(40, 0, ckpt.config().vocabSize()).toArray();
        int layers = ckpt.config().numLayers();
        AtomicBoolean stop = new AtomicBoolean();
        Thread churn = new Thread(() -> {
            while (!stop.get()) {
                System.gc();
                sleepMillis(2);
            }
        }, "gc-churn");
        churn.setDaemon(true);
        int runs = 30;
        int differing = 0;
        try (LlamaModel m = LlamaModel.load(ckpt)) {
            float[][][] first = gradients(m, tokens, layers, layerMajor);
            churn.start();
            for (int i = 0; i < runs; i++) {
                float[][][] g = gradients(m, tokens, layers, layerMajor);
                if (!Arrays.deepEquals(g, first)) {
                    differing++;
                }
            }
        } finally {
            stop.set(true);
            churn.join();
        }
        assertThat(differing).as("runs (of %d) whose gradients differ from the first", runs).isZero();
    }

    private static void sleepMillis(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static float[][][] gradients(LlamaModel m, int[] tokens, int layers, boolean layerMajor) {
        float[][][] out = new float[layers][LinearKind.values().length][];
        GradientObserver grads = (l, k, g) -> out[l][k.ordinal()] = g.toFloatArray();
        if (layerMajor) {
            LayerMajorPass.forwardBackward(m, tokens, null, grads);
        } else {
            m.forwardBackward(tokens, null, grads);
        }
        return out;
    }
}
