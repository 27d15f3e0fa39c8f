package dev.gblm.stream;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;

/** The one Jackson configuration of gblm's JSON records: unknown fields ignored (forward compatible), nulls omitted. */
public final class Json {
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .setSerializationInclusion(JsonInclude.Include.NON_NULL);

    private Json() {}

    public static ObjectMapper mapper() {
        return MAPPER;
    }

    public static byte[] write(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize " + value.getClass().getSimpleName(), e);
        }
    }

    /** Parses {@code bytes}; throws {@link RecordFormatException} with a readable reason when it is not a valid record. */
    public static <T> T read(byte[] bytes, Class<T> type) {
        if (bytes == null) {
            throw new RecordFormatException(type.getSimpleName() + " record has no value");
        }
        T value;
        try {
            value = MAPPER.readValue(bytes, type);
        } catch (IOException | RuntimeException e) {
            String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("");
            throw new RecordFormatException("malformed " + type.getSimpleName() + " JSON: " + msg);
        }
        if (value == null) {
            // the JSON literal null (or an empty document) parses to no object at all
            throw new RecordFormatException(type.getSimpleName() + " record is JSON null");
        }
        return value;
    }
}
