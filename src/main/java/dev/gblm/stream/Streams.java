package dev.gblm.stream;

import dev.gblm.ops.TopicCatalog;
import java.util.regex.Pattern;

/** Calibration stream names and their topics ({@code calib.<stream>}). */
public final class Streams {
    /** Topic prefix of every stream: {@link TopicCatalog#CALIB_TEMPLATE} without its {@code *}. */
    private static final String PREFIX = TopicCatalog.CALIB_TEMPLATE.substring(0, TopicCatalog.CALIB_TEMPLATE.length() - 1);

    /** Every calibration topic, as a subscription pattern. */
    public static final Pattern CALIBRATION_TOPICS = Pattern.compile(Pattern.quote(PREFIX) + ".+");

    private Streams() {}

    /** The stream of a calibration topic ({@code calib.news} → {@code news}). */
    public static String streamOf(String topic) {
        if (!topic.startsWith(PREFIX) || topic.length() == PREFIX.length()) {
            throw new IllegalArgumentException("not a calibration topic: " + topic);
        }
        return topic.substring(PREFIX.length());
    }
}
