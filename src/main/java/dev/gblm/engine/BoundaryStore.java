package dev.gblm.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * The hidden state entering each layer ({@code [T, hidden]} float32) of every sample of
 * {@link LayerMajorPass#forwardBackwardAll}: kept on the engine's device, or, when all of them together would exceed
 * {@link SpillSettings#boundaryBytes}, written to one file each as produced and read back (the same float32 bytes,
 * so the statistics do not change) into the scope of the layer that needs it. Spill files are deleted once their
 * boundary is released, and the directory by {@link #close}.
 */
final class BoundaryStore implements AutoCloseable {
    private final NDArray[][] held;
    private final Shape[][] shapes;
    private final SpillDirectory files;

    private BoundaryStore(int samples, int layers, SpillDirectory files) {
        this.held = new NDArray[samples][layers + 1];
        this.shapes = new Shape[samples][layers + 1];
        this.files = files;
    }

    /** A store for {@code bytes} of boundaries of {@code samples} samples through {@code layers} layers. */
    static BoundaryStore open(int samples, int layers, long bytes, SpillSettings spill) {
        return new BoundaryStore(samples, layers, bytes > spill.boundaryBytes()
                ? SpillDirectory.create(spill.dir(), bytes, "the layer-boundary activations of the calibration samples")
                : null);
    }

    boolean spills() {
        return files != null;
    }

    long bytesWritten() {
        return files == null ? 0 : files.bytesWritten();
    }

    /**
     * Stores {@code x} as sample {@code s}'s input to layer {@code l} ({@code l = layers}: the top hidden state): it
     * joins {@code home}, or, spilling, is written out and left to the scope it was made in.
     */
    void put(int s, int l, NDArray x, NDManager home) {
        if (files == null) {
            x.attach(home);
            held[s][l] = x;
        } else {
            if (x.getDataType() != DataType.FLOAT32) {
                throw new IllegalStateException("boundary activations are float32, got " + x.getDataType());
            }
            shapes[s][l] = x.getShape();
            files.write(name(s, l), x.toByteBuffer());
        }
    }

    /**
     * Sample {@code s}'s input to layer {@code l}, in {@code scope} until the scope closes (a kept array returns to
     * its owner then; a spilled one is read into {@code scope}'s device and dies with it).
     */
    NDArray get(int s, int l, NDManager scope) {
        if (files == null) {
            NDArray x = held[s][l];
            x.tempAttach(scope);
            return x;
        }
        return scope.create(files.read(name(s, l)), shapes[s][l], DataType.FLOAT32);
    }

    /** Frees sample {@code s}'s input to layer {@code l}: no later step reads it. */
    void release(int s, int l) {
        if (files == null) {
            held[s][l].close();
            held[s][l] = null;
        } else {
            files.delete(name(s, l));
        }
    }

    /** Frees whatever is left (a pass that failed half-way) and deletes the spill directory. */
    @Override
    public void close() {
        for (NDArray[] sample : held) {
            for (NDArray x : sample) {
                if (x != null) {
                    x.close();
                }
            }
        }
        if (files != null) {
            files.close();
        }
    }

    private static String name(int s, int l) {
        return "boundary-" + s + "-" + l + ".f32";
    }
}
