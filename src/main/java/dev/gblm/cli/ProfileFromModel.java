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
        return profile(model, seqLen, gradScale, blockBytes, 0);
    }

    /** As {@link #profile(Path, Integer, float, long)} for workers holding out {@code holdout}. */
    static Profile profile(Path model, Integer seqLen, float gradScale, long blockBytes, double holdout) {
        return Profile.forCheckpoint(Checkpoints.load(model), seqLen, gradScale, blockBytes, holdout);
    }

    /** Dense weights of the checkpoint, memory-mapped where the format allows. */
    static CheckpointWeights weights(Path model) {
        return new CheckpointWeights(Checkpoints.load(model));
    }
}
