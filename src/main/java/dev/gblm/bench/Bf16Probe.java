package dev.gblm.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.gblm.engine.ComputeDevice;
import dev.gblm.engine.Engines;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Which DJL calls can make a BFLOAT16 (or FLOAT16) tensor without killing the JVM. Each probe runs in a child JVM
 * ({@link #main}), because the failure seen with DJL 0.36 is a native abort ({@code terminate called without an
 * active exception}, exit 134) that no Java handler can catch.
 */
@Command(name = "bf16-probe", mixinStandardHelpOptions = true,
        description = "Probe, each in a child JVM, which DJL calls can create bf16/f16 tensors (see docs/engine.md).")
public final class Bf16Probe implements Callable<Integer> {
    /** The probes: a name and what it does. */
    public enum Probe {
        ZEROS_BF16("m.zeros(shape, BFLOAT16)"),
        CREATE_BUFFER_BF16("m.create(ByteBuffer of bf16 bits, shape, BFLOAT16)"),
        TO_TYPE_BF16("float32.toType(BFLOAT16, false)"),
        TO_TYPE_COPY_BF16("float32.toType(BFLOAT16, true)"),
        TO_TYPE_F16_MATMUL("float32.toType(FLOAT16, false).matMul(..).toType(FLOAT32)");

        final String call;

        Probe(String call) {
            this.call = call;
        }
    }

    /** One probe's outcome: the child's exit code and its last line. */
    public record Outcome(Probe probe, int exitCode, String lastLine) {
        public boolean ok() {
            return exitCode == 0 && lastLine.startsWith("OK");
        }
    }

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, gpu or auto (default: ${DEFAULT-VALUE})")
    String device;

    @Override
    public Integer call() throws Exception {
        System.out.printf("%-20s %-60s %s%n", "probe", "call", "result");
        for (Probe p : Probe.values()) {
            Outcome o = run(p, ComputeDevice.parse(device));
            System.out.printf("%-20s %-60s %s%n", p, p.call, o.ok() ? o.lastLine()
                    : "exit " + o.exitCode() + ": " + o.lastLine());
        }
        return 0;
    }

    /** Runs {@code probe} in a child JVM on this JVM's class path. */
    public static Outcome run(Probe probe, ComputeDevice device) throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = List.of(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                Bf16Probe.class.getName(), probe.name(), device.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        List<String> lines = new ArrayList<>();
        String all = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        for (String l : all.split("\n")) {
            if (!l.isBlank() && !l.contains("INFO") && !l.startsWith("SLF4J")) {
                lines.add(l.strip());
            }
        }
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        return new Outcome(probe, p.exitValue(), lines.isEmpty() ? "" : lines.get(lines.size() - 1));
    }

    /** The child: one probe; prints {@code OK ...} on success (an abort prints libstdc++'s line instead). */
    public static void main(String[] args) {
        Probe probe = Probe.valueOf(args[0]);
        Device device = Engines.device(ComputeDevice.parse(args.length > 1 ? args[1] : "cpu"));
        try (NDManager m = NDManager.newBaseManager(device, "PyTorch")) {
            NDArray f = m.create(new float[] {1.5f, 2f, 3f, 4f}, new Shape(2, 2));
            System.out.println("start " + probe);
            System.out.flush();
            NDArray r = switch (probe) {
                case ZEROS_BF16 -> m.zeros(new Shape(2, 2), DataType.BFLOAT16);
                case CREATE_BUFFER_BF16 -> {
                    ByteBuffer bb = m.allocateDirect(8).order(ByteOrder.nativeOrder());
                    for (float v : new float[] {1.5f, 2f, 3f, 4f}) {
                        bb.putShort((short) (Float.floatToIntBits(v) >>> 16)); // exact: these values fit bf16
                    }
                    bb.rewind();
                    yield m.create(bb, new Shape(2, 2), DataType.BFLOAT16);
                }
                case TO_TYPE_BF16 -> f.toType(DataType.BFLOAT16, false);
                case TO_TYPE_COPY_BF16 -> f.toType(DataType.BFLOAT16, true);
                case TO_TYPE_F16_MATMUL -> {
                    NDArray h = f.toType(DataType.FLOAT16, false);
                    yield h.matMul(h);
                }
            };
            System.out.println("OK " + r.getDataType() + " "
                    + Arrays.toString(r.toType(DataType.FLOAT32, false).toFloatArray()));
        }
    }
}
