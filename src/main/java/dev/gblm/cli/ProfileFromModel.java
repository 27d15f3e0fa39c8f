package dev.gblm.cli;

import dev.gblm.GblmException;
import dev.gblm.stream.Profile;
import dev.gblm.stream.WeightSource;
import java.nio.file.Path;

/**
 * HOOKS FOR THE LEAD: the two places where the streaming commands need the engine. Until they are wired, both
 * end with a clear error; everything else (topology, records, jobs by --profile) works without them.
 */
final class ProfileFromModel {
    private ProfileFromModel() {}

    /**
     * TODO(lead): load the model's fingerprint (the same the worker computes) and build the profile the worker uses:
     * {@code Profile.of(fingerprint, seqLen (default: the model's context), gradScale, kinds the worker collects)}.
     */
    static Profile profile(Path model, Integer seqLen, float gradScale) {
        throw new GblmException("--model is not wired to the engine yet in this build; pass --profile ID instead (the worker logs its profile id)");
    }

    /**
     * TODO(lead): a {@link WeightSource} over the checkpoint at {@code model} (memory-mapped, thread-safe), and the
     * model fingerprint the worker writes into its profiles (slices of other models then go to the DLQ).
     */
    static WeightSource weights(Path model) {
        throw new GblmException("the finalizer cannot read model weights yet in this build (WeightSource from a checkpoint is not wired)");
    }

    static String fingerprint(Path model) {
        throw new GblmException("model fingerprint is not wired yet in this build");
    }
}
