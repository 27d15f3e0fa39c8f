package dev.gblm.stream;

import dev.gblm.GblmException;
import java.util.regex.Pattern;

/**
 * Identifiers that end up in file paths, record keys and Kafka ids (job ids, above all: the exporter writes
 * {@code OUT/<job>/epoch-<n>/}). One rule, checked wherever such an id enters: at submit, in every record that
 * carries one, and again before a path is built from it.
 */
public final class Ids {
    /** Letters, digits, '.', '_', '-'; not starting with '.' (so never {@code .} or {@code ..}); at most 200. */
    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}");

    private Ids() {}

    public static boolean isSafe(String id) {
        return id != null && SAFE.matcher(id).matches();
    }

    /** Returns {@code id}, or throws a {@link GblmException} naming {@code what} and the rule. */
    public static String requireSafe(String what, String id) {
        if (!isSafe(id)) {
            throw new GblmException("bad " + what + " '" + id
                    + "' (letters, digits, '.', '_', '-', not starting with '.'; at most 200)");
        }
        return id;
    }
}
