package dev.gblm.tokenizer;

import dev.gblm.GblmException;
import dev.gblm.tokenizer.SentencePieceModel.Piece;
import dev.gblm.tokenizer.SentencePieceModel.PieceType;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A SentencePiece BPE tokenizer ({@code tokenizer.model} of LLaMA-1/2 and relatives) in pure Java.
 *
 * <p>Encoding: normalize (optionally squeeze spaces, add the dummy-prefix space, spaces → U+2581),
 * segment with {@link BpeMerger}, map pieces to ids; a piece outside the vocabulary becomes the
 * byte pieces {@code <0xXX>} of its UTF-8 bytes when the model was trained with byte fallback,
 * otherwise {@code <unk>}. Decoding reverses this and drops control tokens (BOS, EOS).
 *
 * <p>Known deviation: SentencePiece's precompiled normalization charsmap is not interpreted; models
 * whose normalizer is not {@code identity} get Unicode NFKC instead, which is close but not exact.
 */
public final class SentencePieceTokenizer implements Tokenizer {
    private static final char SPACE_MARK = '\u2581';

    private final SentencePieceModel model;
    private final Map<String, Integer> mergeable = new HashMap<>();
    private final String[] pieceText;
    private final PieceType[] pieceType;
    private final int[] byteIds = new int[256];
    private final BpeMerger merger;

    SentencePieceTokenizer(SentencePieceModel model) {
        if (model.modelType() != SentencePieceModel.ModelType.BPE) {
            throw new GblmException("SentencePiece model type " + model.modelType()
                    + " is not supported (only BPE, as used by LLaMA-1/2)");
        }
        this.model = model;
        List<Piece> pieces = model.pieces();
        int n = pieces.size();
        pieceText = new String[n];
        pieceType = new PieceType[n];
        float[] scores = new float[n];
        boolean[] unused = new boolean[n];
        Set<String> userDefined = new HashSet<>();
        Arrays.fill(byteIds, -1);
        for (int id = 0; id < n; id++) {
            Piece p = pieces.get(id);
            pieceText[id] = p.text();
            pieceType[id] = p.type();
            scores[id] = p.score();
            switch (p.type()) {
                case NORMAL, USER_DEFINED, UNUSED -> {
                    mergeable.putIfAbsent(p.text(), id);
                    unused[id] = p.type() == PieceType.UNUSED;
                    if (p.type() == PieceType.USER_DEFINED) {
                        userDefined.add(p.text());
                    }
                }
                case BYTE -> byteIds[parseBytePiece(p.text())] = id;
                default -> { }
            }
        }
        merger = new BpeMerger(mergeable, scores, unused, userDefined);
    }

    /** Loads a {@code tokenizer.model} file; bad content raises a {@link GblmException}. */
    public static SentencePieceTokenizer load(Path file) {
        return new SentencePieceTokenizer(SentencePieceModel.read(file));
    }

    @Override
    public int[] encode(String text) {
        String normalized = normalize(text);
        List<String> symbols = merger.encode(normalized);
        int[] ids = new int[symbols.size() + 16];
        int count = 0;
        for (String symbol : symbols) {
            Integer id = mergeable.get(symbol);
            if (id != null) {
                ids = ensure(ids, count + 1);
                ids[count++] = id;
            } else if (model.byteFallback()) {
                byte[] bytes = symbol.getBytes(StandardCharsets.UTF_8);
                ids = ensure(ids, count + bytes.length);
                for (byte b : bytes) {
                    int byteId = byteIds[b & 0xff];
                    ids[count++] = byteId >= 0 ? byteId : model.unkId();
                }
            } else if (count == 0 || ids[count - 1] != model.unkId()) {
                // SentencePiece folds a run of unknown symbols into one <unk>.
                ids = ensure(ids, count + 1);
                ids[count++] = model.unkId();
            }
        }
        return Arrays.copyOf(ids, count);
    }

    @Override
    public String decode(int[] ids) {
        StringBuilder out = new StringBuilder();
        ByteArrayOutputStream pendingBytes = new ByteArrayOutputStream();
        boolean first = true;
        for (int id : ids) {
            if (id < 0 || id >= pieceText.length) {
                throw new GblmException("token id " + id + " is outside the vocabulary of " + pieceText.length);
            }
            PieceType type = pieceType[id];
            if (type == PieceType.BYTE) {
                pendingBytes.write(parseBytePiece(pieceText[id]));
                continue;
            }
            flush(pendingBytes, out);
            if (type == PieceType.CONTROL) {
                continue;
            }
            String surface = type == PieceType.UNKNOWN ? model.unkSurface() : pieceText[id];
            if (first && model.addDummyPrefix() && !surface.isEmpty() && surface.charAt(0) == SPACE_MARK
                    && out.length() == 0) {
                surface = surface.substring(1);
            }
            first = false;
            out.append(surface.replace(SPACE_MARK, ' '));
        }
        flush(pendingBytes, out);
        return out.toString();
    }

    @Override
    public int bosId() {
        return model.bosId();
    }

    @Override
    public int eosId() {
        return model.eosId();
    }

    @Override
    public int vocabSize() {
        return pieceText.length;
    }

    /** The piece text of an id (with U+2581 for spaces), for diagnostics and tests. */
    public String piece(int id) {
        return pieceText[id];
    }

    String normalize(String text) {
        String s = "identity".equals(model.normalizerName()) ? text : Normalizer.normalize(text, Normalizer.Form.NFKC);
        if (model.removeExtraWhitespaces()) {
            s = squeezeSpaces(s);
        }
        if (s.isEmpty()) {
            return s;
        }
        if (model.addDummyPrefix()) {
            s = model.treatWhitespaceAsSuffix() ? s + ' ' : ' ' + s;
        }
        return model.escapeWhitespaces() ? s.replace(' ', SPACE_MARK) : s;
    }

    private static String squeezeSpaces(String s) {
        StringBuilder b = new StringBuilder(s.length());
        boolean pendingSpace = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == ' ') {
                pendingSpace = b.length() > 0;
            } else {
                if (pendingSpace) {
                    b.append(' ');
                    pendingSpace = false;
                }
                b.append(c);
            }
        }
        return b.toString();
    }

    private static void flush(ByteArrayOutputStream pendingBytes, StringBuilder out) {
        if (pendingBytes.size() > 0) {
            // Invalid UTF-8 becomes U+FFFD, as SentencePiece does.
            out.append(new String(pendingBytes.toByteArray(), StandardCharsets.UTF_8));
            pendingBytes.reset();
        }
    }

    private static int parseBytePiece(String text) {
        if (text.length() != 6 || !text.startsWith("<0x") || text.charAt(5) != '>') {
            throw new GblmException("malformed byte piece '" + text + "' in SentencePiece model");
        }
        try {
            return Integer.parseInt(text.substring(3, 5), 16);
        } catch (NumberFormatException e) {
            throw new GblmException("malformed byte piece '" + text + "' in SentencePiece model", e);
        }
    }

    private static int[] ensure(int[] ids, int capacity) {
        return capacity <= ids.length ? ids : Arrays.copyOf(ids, Math.max(capacity, ids.length * 2));
    }
}
