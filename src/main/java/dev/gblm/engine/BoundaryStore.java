package dev.gblm.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * One {@code [T, hidden]} float32 array per sample and layer boundary (the hidden states entering each layer, or
 * the loss gradients with respect to them) of a set of samples: kept on the engine's device, or, when all of them
 * together would exceed {@link SpillSettings#boundaryBytes}, written to one file each as produced and read back (the
 * same float32 bytes, so nothing computed from them changes) into the scope of the layer that needs it. Used by
 * {@link LayerMajorPass#forwardBackwardAll} (every sample's input to every layer, and the gradient dL/dh flowing
 * down between layers) and by sequential pruning (every sample's input to the layer being pruned). Spill files are
 * deleted once their array is released, and the directory by {@link #close}.
 */
public final class BoundaryStore implements AutoCloseable {
    private final NDArray[][] held;
    private final Shape[][] shapes;
    private final SpillDirectory files;

    private BoundaryStore(int samples, int layers, SpillDirectory files) {
        this.held = new NDArray[samples][layers + 1];
        this.shapes = new Shape[samples][layers + 1];
        this.files = files;
    }

    /**
     * A store for the states of {@code samples} samples through {@code layers} layers, {@code bytes} of them held at
     * the most at one time (what decides whether it spills, and the disk space a spill needs); {@code what} names
     * them in a refusal for lack of disk space.
     */
    public static BoundaryStore open(int samples, int layers, long bytes, SpillSettings spill, String what) {
        return new BoundaryStore(samples, layers,
                bytes > spill.boundaryBytes() ? SpillDirectory.create(spill.dir(), bytes, what) : null);
    }

    /** Whether the states go to disk. */
    public boolean spills() {
        return files != null;
    }

    /** Bytes written to spill files so far. */
    public long bytesWritten() {
        return files == null ? 0 : files.bytesWritten();
    }

    /**
     * Stores {@code x} as sample {@code s}'s input to layer {@code l} ({@code l = layers}: the top hidden state): it
     * joins {@code home}, or, spilling, is written out and left to the scope it was made in.
     */
    public void put(int s, int l, NDArray x, NDManager home) {
        if (files == null) {
            x.attach(home);
            held[s][l] = x;
        } else {
            if (x.getDataType() != DataType.FLOAT32) {
                throw new IllegalStateException("layer boundaries are float32, got " + x.getDataType());
            }
            shapes[s][l] = x.getShape();
            files.write(name(s, l), x.toByteBuffer());
        }
    }

    /**
     * Sample {@code s}'s input to layer {@code l}, in {@code scope} until the scope closes (a kept array returns to
     * its owner then; a spilled one is read into {@code scope}'s device and dies with it).
     */
    public NDArray get(int s, int l, NDManager scope) {
        if (files == null) {
            NDArray x = held[s][l];
            x.tempAttach(scope);
            return x;
        }
        return scope.create(files.read(name(s, l)), shapes[s][l], DataType.FLOAT32);
    }

    /** Frees sample {@code s}'s input to layer {@code l}: no later step reads it. */
    public void release(int s, int l) {
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
