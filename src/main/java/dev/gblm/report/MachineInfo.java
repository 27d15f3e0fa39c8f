package dev.gblm.report;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** The machine a report was measured on. */
public record MachineInfo(String cpu, int cores, long memoryBytes, String os, String java, double loadAverage) {

    /** Reads this JVM's view of the machine ({@code /proc/cpuinfo} for the CPU model where present). */
    public static MachineInfo detect() {
        long mem = -1;
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            mem = os.getTotalMemorySize();
        }
        String os = System.getProperty("os.name") + " " + System.getProperty("os.version") + " ("
                + System.getProperty("os.arch") + ")";
        String java = System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version")
                + " (" + System.getProperty("java.vendor") + ")";
        return new MachineInfo(cpuModel(), Runtime.getRuntime().availableProcessors(), mem, os, java,
                ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).strip();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or not readable: the model is a nicety
        }
        return "unknown CPU";
    }

    public String memoryText() {
        return memoryBytes < 0 ? "unknown" : String.format(Locale.ROOT, "%.1f GiB", memoryBytes / (double) (1L << 30));
    }
}
