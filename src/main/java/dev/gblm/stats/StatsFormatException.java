package dev.gblm.stats;

import dev.gblm.GblmException;

/** A statistics record that cannot be decoded: wrong magic, unknown version, bad length or checksum. */
public class StatsFormatException extends GblmException {
    public StatsFormatException(String message) {
        super(message);
    }
}
