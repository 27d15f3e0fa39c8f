package dev.gblm.engine;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.LibUtils;
import dev.gblm.GblmException;

/**
 * One place that starts DJL's PyTorch engine and picks the compute device.
 *
 * <p>Offline is a setting: the system property {@code ai.djl.offline} or DJL's own environment variable
 * {@code DJL_OFFLINE} wins; when neither is set gblm sets the property to {@code true}, because no model hub is
 * reachable from where gblm runs and the natives come from the classpath (or {@code PYTORCH_LIBRARY_PATH}).
 */
public final class Engines {
    /** What {@link #init()} sets when neither the property nor the environment says. */
    static final boolean DEFAULT_OFFLINE = true;

    private Engines() {}

    static synchronized void init() {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", Boolean.toString(offline(null, System.getenv("DJL_OFFLINE"))));
        }
        try {
            Engine.getEngine("PyTorch");
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            // a wrong PYTORCH_LIBRARY_PATH / PYTORCH_VERSION / PYTORCH_FLAVOR ends here: one line, not a trace
            throw new GblmException("cannot start the PyTorch engine: " + rootMessage(e)
                    + " (natives: PYTORCH_LIBRARY_PATH=" + System.getenv("PYTORCH_LIBRARY_PATH")
                    + ", see docs/engine.md 'How to run on a GPU')");
        }
    }

    /**
     * The offline setting: the property if given, else the environment variable, else {@link #DEFAULT_OFFLINE}.
     * Pure, for tests.
     */
    static boolean offline(String property, String env) {
        if (property != null && !property.isBlank()) {
            return Boolean.parseBoolean(property.trim());
        }
        if (env != null && !env.isBlank()) {
            return Boolean.parseBoolean(env.trim());
        }
        return DEFAULT_OFFLINE;
    }

    /** Whether DJL runs offline in this process (after {@link #init()}). */
    public static boolean offline() {
        init();
        return Boolean.parseBoolean(System.getProperty("ai.djl.offline"));
    }

    /**
     * The DJL device for {@code wanted}. GPU without a CUDA device visible to the loaded native is one line saying
     * which native was loaded and how to provide a CUDA one.
     */
    public static Device device(ComputeDevice wanted) {
        init();
        int gpus = Engine.getInstance().getGpuCount();
        Device d = switch (wanted) {
            case CPU -> Device.cpu();
            case AUTO -> gpus > 0 ? Device.gpu() : Device.cpu();
            case GPU -> {
                if (gpus == 0) {
                    throw new GblmException("--device gpu: the PyTorch engine sees no CUDA device (native "
                            + nativeDescription() + " is " + (isCudaNative() ? "a CUDA build but found no GPU"
                            : "a CPU-only build") + "); provide a CUDA libtorch 2.7.1 with PYTORCH_LIBRARY_PATH=DIR "
                            + "PYTORCH_VERSION=2.7.1 PYTORCH_FLAVOR=cu128, see docs/engine.md 'How to run on a GPU'");
                }
                yield Device.gpu();
            }
        };
        return d;
    }

    /** For the log: what {@code wanted} resolved to and why, e.g. {@code auto -> cpu (no GPU visible to the engine)}. */
    public static String describe(ComputeDevice wanted, Device d) {
        String where = d.isGpu() ? "gpu " + d.getDeviceId() : "cpu";
        if (wanted != ComputeDevice.AUTO) {
            return where;
        }
        int gpus = Engine.getInstance().getGpuCount();
        return "auto -> " + where + (gpus > 0 ? " (" + gpus + " GPU(s) visible)" : " (no GPU visible to the engine)");
    }

    /** The loaded libtorch: version and directory. */
    public static String nativeDescription() {
        init();
        return "libtorch " + LibUtils.getVersion() + " at " + LibUtils.getLibtorchPath();
    }

    private static boolean isCudaNative() {
        String dir = LibUtils.getLibtorchPath();
        return dir != null && (dir.contains("-cu") || new java.io.File(dir, "libtorch_cuda.so").exists());
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }
}
