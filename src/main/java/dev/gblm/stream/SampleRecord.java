package dev.gblm.stream;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * One calibration document on a {@code calib.<stream>} topic.
 *
 * <ul>
 *   <li>key: a stable document id (UTF-8), by default derived from the content
 *       ({@code t-<hex>} for text, {@code k-<hex>} for tokens: the first 16 bytes of the SHA-256 of
 *       the content), so re-ingesting a file yields the same keys; a JSONL {@code id} field overrides it;
 *   <li>value: JSON {@code {"text": "..."}} or {@code {"tokens": [1, 2, ...]}};
 *   <li>header {@value #FORMAT_HEADER}: {@value #FORMAT_TEXT} or {@value #FORMAT_TOKENS}
 *       (what the value holds, so a consumer can route without parsing).
 * </ul>
 * Exactly one of {@link #text()} and {@link #tokens()} is non-null.
 */
public final class SampleRecord {
    public static final String FORMAT_HEADER = "gblm.format";
    public static final String FORMAT_TEXT = "text";
    public static final String FORMAT_TOKENS = "tokens";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String id;
    private final String text;
    private final int[] tokens;

    private SampleRecord(String id, String text, int[] tokens) {
        this.id = Objects.requireNonNull(id, "id");
        this.text = text;
        this.tokens = tokens;
    }

    /** A text document with a content-derived id. */
    public static SampleRecord ofText(String text) {
        return new SampleRecord(contentId(text.getBytes(StandardCharsets.UTF_8), "t"), text, null);
    }

    public static SampleRecord ofText(String id, String text) {
        return new SampleRecord(id, Objects.requireNonNull(text), null);
    }

    /** A pre-tokenized document with a content-derived id. */
    public static SampleRecord ofTokens(int[] tokens) {
        ByteBuffer b = ByteBuffer.allocate(4 * tokens.length);
        for (int t : tokens) {
            b.putInt(t);
        }
        return new SampleRecord(contentId(b.array(), "k"), null, tokens.clone());
    }

    public static SampleRecord ofTokens(String id, int[] tokens) {
        return new SampleRecord(id, null, tokens.clone());
    }

    public String id() {
        return id;
    }

    /** The text, or null for a token document. */
    public String text() {
        return text;
    }

    /** A copy of the token ids, or null for a text document. */
    public int[] tokens() {
        return tokens == null ? null : tokens.clone();
    }

    public String format() {
        return text != null ? FORMAT_TEXT : FORMAT_TOKENS;
    }

    public byte[] key() {
        return id.getBytes(StandardCharsets.UTF_8);
    }

    public byte[] value() {
        ObjectNode node = JSON.createObjectNode();
        if (text != null) {
            node.put("text", text);
        } else {
            ArrayNode arr = node.putArray("tokens");
            for (int t : tokens) {
                arr.add(t);
            }
        }
        try {
            return JSON.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode a sample", e);
        }
    }

    /**
     * Decodes a record. {@code formatHeader} may be null (older producers); when present it must
     * agree with the value. Rejects what a worker cannot use: missing key, bytes that are not UTF-8,
     * malformed JSON, neither or both fields, blank text, non-integer or negative token ids.
     */
    public static SampleRecord decode(byte[] key, byte[] value, String formatHeader) throws InvalidSampleException {
        if (key == null || key.length == 0) {
            throw new InvalidSampleException("missing-key", "record has no key (document id)");
        }
        if (value == null) {
            throw new InvalidSampleException("empty", "record has no value");
        }
        String id = utf8(key, "key");
        JsonNode node = parseObject(utf8(value, "value"));
        SampleRecord s = fromJson(id, node);
        if (formatHeader != null && !formatHeader.equals(s.format())) {
            throw new InvalidSampleException("format-mismatch",
                    "header " + FORMAT_HEADER + "=" + formatHeader + " but the value holds " + s.format());
        }
        return s;
    }

    /** Parses one JSON object ({@code text} or {@code tokens}, optional string {@code id}). */
    public static SampleRecord fromJsonObject(String json) throws InvalidSampleException {
        JsonNode node = parseObject(json);
        JsonNode idNode = node.get("id");
        if (idNode != null && !idNode.isTextual()) {
            throw new InvalidSampleException("bad-id", "field 'id' must be a string");
        }
        SampleRecord s = fromJson("pending", node);
        String id = idNode != null && !idNode.asText().isEmpty() ? idNode.asText() : null;
        if (id == null) {
            return s.text != null ? ofText(s.text) : ofTokens(s.tokens);
        }
        return new SampleRecord(id, s.text, s.tokens);
    }

    private static JsonNode parseObject(String json) throws InvalidSampleException {
        JsonNode node;
        try {
            node = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new InvalidSampleException("malformed-json", "malformed JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            throw new InvalidSampleException("not-an-object", "expected a JSON object");
        }
        return node;
    }

    private static SampleRecord fromJson(String id, JsonNode node) throws InvalidSampleException {
        JsonNode text = node.get("text");
        JsonNode toks = node.get("tokens");
        if (text != null && toks != null) {
            throw new InvalidSampleException("ambiguous", "both 'text' and 'tokens' present");
        }
        if (text != null) {
            if (!text.isTextual()) {
                throw new InvalidSampleException("bad-text", "field 'text' must be a string");
            }
            if (text.asText().isBlank()) {
                throw new InvalidSampleException("empty-text", "field 'text' is empty");
            }
            return new SampleRecord(id, text.asText(), null);
        }
        if (toks != null) {
            if (!toks.isArray() || toks.isEmpty()) {
                throw new InvalidSampleException("bad-tokens", "field 'tokens' must be a non-empty array of ids");
            }
            int[] ids = new int[toks.size()];
            for (int i = 0; i < ids.length; i++) {
                JsonNode t = toks.get(i);
                if (!t.isIntegralNumber() || !t.canConvertToInt() || t.intValue() < 0) {
                    throw new InvalidSampleException("bad-tokens", "token " + i + " is not a non-negative int: " + t);
                }
                ids[i] = t.intValue();
            }
            return new SampleRecord(id, null, ids);
        }
        throw new InvalidSampleException("no-text", "object has neither 'text' nor 'tokens'");
    }

    /** Strict UTF-8 decoding: malformed bytes are an error, never silently replaced. */
    public static String utf8(byte[] bytes, String what) throws InvalidSampleException {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new InvalidSampleException("not-utf8", what + " is not valid UTF-8");
        }
    }

    private static String contentId(byte[] content, String kind) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(content);
            return kind + "-" + HexFormat.of().formatHex(d, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SampleRecord s && id.equals(s.id) && Objects.equals(text, s.text)
                && Arrays.equals(tokens, s.tokens);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, text, Arrays.hashCode(tokens));
    }

    @Override
    public String toString() {
        return "SampleRecord[" + id + ", " + (text != null ? text.length() + " chars" : tokens.length + " tokens") + "]";
    }
}
