package dev.gblm.ops;

/** The answer of one health check. */
public record Health(boolean up, String detail) {
    public static Health up(String detail) {
        return new Health(true, detail);
    }

    public static Health down(String detail) {
        return new Health(false, detail);
    }

    /** A check that is evaluated on every {@code /health} request; it must be quick and not throw. */
    @FunctionalInterface
    public interface Check {
        Health check();
    }
}
