package dev.gblm.cli;

import dev.gblm.model.Checkpoints;
import dev.gblm.stream.Profile;
import dev.gblm.stream.finalizer.CheckpointWeights;
import java.nio.file.Path;

/** Where the streaming commands meet the engine: a model path becomes a profile, a fingerprint and weights. */
final class ProfileFromModel {
    private ProfileFromModel() {}

    /** The profile the workers serving {@code model} use (see {@link Profile#forCheckpoint}). */
    static Profile profile(Path model, Integer seqLen, float gradScale, long blockBytes) {
        return Profile.forCheckpoint(Checkpoints.load(model), seqLen, gradScale, blockBytes);
    }

    /** Dense weights of the checkpoint, memory-mapped where the format allows. */
    static CheckpointWeights weights(Path model) {
        return new CheckpointWeights(Checkpoints.load(model));
    }
}
