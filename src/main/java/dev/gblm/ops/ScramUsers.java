package dev.gblm.ops;

import dev.gblm.GblmException;
import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The SCRAM-SHA-512 users of a secured embedded broker: user name → password, in file order.
 *
 * <p>File format (UTF-8), one user a line: {@code name:password}. Blank lines and lines starting with {@code #}
 * are ignored; spaces around the name and the password are trimmed. A name is 1-64 characters of
 * {@code A-Z a-z 0-9 . _ -}; a password is 1-256 printable ASCII characters without spaces and without
 * {@code " \ ' , = [ ]} (it travels inside a JAAS option and a {@code kafka-storage --add-scram} value); it may
 * contain {@code :} (the line is split at its first colon). Every problem is one line naming the file and the line.
 *
 * @param source the file it came from (for messages), or a description
 * @param users  user name → password, in file order
 */
public record ScramUsers(String source, Map<String, String> users) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    private static final Pattern PASSWORD = Pattern.compile("[!#-&(-+\\--<>-Z^-~]{1,256}");
    static final String PASSWORD_RULE = "1-256 printable ASCII characters without spaces or any of \" \\ ' , = [ ]";
    static final String NAME_RULE = "1-64 characters of A-Z a-z 0-9 . _ -";

    public ScramUsers {
        if (users == null || users.isEmpty()) {
            throw new GblmException("users " + source + ": no users");
        }
        users.forEach((name, password) -> {
            if (name == null || !NAME.matcher(name).matches()) {
                throw new GblmException("users " + source + ": invalid user name '" + name + "' (" + NAME_RULE + ")");
            }
            if (password == null || !PASSWORD.matcher(password).matches()) {
                throw new GblmException("users " + source + ": invalid password for user " + name + " (" + PASSWORD_RULE + ")");
            }
        });
        users = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(users));
    }

    /** Users given in code (tests, embedding applications). */
    public static ScramUsers of(Map<String, String> users) {
        return new ScramUsers("(given in code)", users);
    }

    /** Reads a users file; throws a one-line GblmException for a missing file, a bad line, a duplicate user. */
    public static ScramUsers parse(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new GblmException("users file " + file + ": no such file");
        } catch (MalformedInputException e) {
            throw new GblmException("users file " + file + ": not UTF-8 text");
        } catch (IOException e) {
            throw new GblmException("users file " + file + ": cannot read it: " + e.getMessage());
        }
        Map<String, String> users = new LinkedHashMap<>();
        Map<String, Integer> firstLine = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            int n = i + 1;
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int colon = line.indexOf(':');
            if (colon < 0) {
                throw new GblmException("users file " + file + " line " + n + ": expected name:password");
            }
            String name = line.substring(0, colon).strip();
            String password = line.substring(colon + 1).strip();
            if (!NAME.matcher(name).matches()) {
                throw new GblmException("users file " + file + " line " + n + ": invalid user name '" + name + "' ("
                        + NAME_RULE + ")");
            }
            if (!PASSWORD.matcher(password).matches()) {
                throw new GblmException("users file " + file + " line " + n + ": invalid password for user " + name
                        + " (" + PASSWORD_RULE + ")");
            }
            if (firstLine.containsKey(name)) {
                throw new GblmException("users file " + file + " line " + n + ": duplicate user " + name
                        + " (first on line " + firstLine.get(name) + ")");
            }
            firstLine.put(name, n);
            users.put(name, password);
        }
        if (users.isEmpty()) {
            throw new GblmException("users file " + file + ": no users (lines name:password)");
        }
        return new ScramUsers(file.toString(), users);
    }

    /** Whether {@code name} is a valid user name ({@value #NAME_RULE}). */
    static boolean validName(String name) {
        return name != null && NAME.matcher(name).matches();
    }

    /** The password of {@code name}; a GblmException when the file has no such user. */
    public String password(String name) {
        String p = users.get(name);
        if (p == null) {
            throw new GblmException("users " + source + ": no user " + name);
        }
        return p;
    }

    /** Never prints passwords. */
    @Override
    public String toString() {
        return "ScramUsers[" + source + ": " + String.join(", ", users.keySet()) + "]";
    }
}
