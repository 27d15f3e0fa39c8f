package dev.gblm.tokenizer;

import dev.gblm.GblmException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The parts of a SentencePiece {@code ModelProto} that encoding and decoding need: the pieces
 * and the trainer/normalizer settings. Field numbers follow {@code sentencepiece_model.proto};
 * absent fields take that file's proto2 defaults.
 */
record SentencePieceModel(
        List<Piece> pieces,
        ModelType modelType,
        int unkId,
        int bosId,
        int eosId,
        boolean byteFallback,
        boolean treatWhitespaceAsSuffix,
        String unkSurface,
        String normalizerName,
        boolean addDummyPrefix,
        boolean removeExtraWhitespaces,
        boolean escapeWhitespaces) {

    enum PieceType { NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE }

    enum ModelType { UNIGRAM, BPE, WORD, CHAR }

    record Piece(String text, float score, PieceType type) {}

    /** Reads and parses a {@code tokenizer.model} file. */
    static SentencePieceModel read(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new GblmException("cannot read SentencePiece model " + file + ": " + e.getMessage(), e);
        }
        try {
            return parse(bytes);
        } catch (ProtoReader.MalformedProtoException | IllegalArgumentException e) {
            throw new GblmException("not a valid SentencePiece model (" + file + "): " + e.getMessage(), e);
        }
    }

    /** Parses a serialized {@code ModelProto}; throws {@link IllegalArgumentException} on bad content. */
    static SentencePieceModel parse(byte[] bytes) {
        Builder b = new Builder();
        ProtoReader r = new ProtoReader(bytes);
        while (r.next()) {
            switch (r.field()) {
                case 1 -> b.pieces.add(parsePiece(r.readMessage()));
                case 2 -> parseTrainerSpec(r.readMessage(), b);
                case 3 -> parseNormalizerSpec(r.readMessage(), b);
                default -> r.skip();
            }
        }
        return b.build();
    }

    private static Piece parsePiece(ProtoReader r) {
        String text = null;
        float score = 0f;
        PieceType type = PieceType.NORMAL;
        while (r.next()) {
            switch (r.field()) {
                case 1 -> text = r.readString();
                case 2 -> score = r.readFloat();
                case 3 -> {
                    int t = r.readInt32();
                    if (t < 1 || t > PieceType.values().length) {
                        throw new IllegalArgumentException("unknown piece type " + t);
                    }
                    type = PieceType.values()[t - 1];
                }
                default -> r.skip();
            }
        }
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException("a piece has no text");
        }
        return new Piece(text, score, type);
    }

    private static void parseTrainerSpec(ProtoReader r, Builder b) {
        while (r.next()) {
            switch (r.field()) {
                case 3 -> {
                    int t = r.readInt32();
                    if (t < 1 || t > ModelType.values().length) {
                        throw new IllegalArgumentException("unknown model type " + t);
                    }
                    b.modelType = ModelType.values()[t - 1];
                }
                case 24 -> b.treatWhitespaceAsSuffix = r.readBool();
                case 35 -> b.byteFallback = r.readBool();
                case 40 -> b.unkId = r.readInt32();
                case 41 -> b.bosId = r.readInt32();
                case 42 -> b.eosId = r.readInt32();
                case 44 -> b.unkSurface = r.readString();
                default -> r.skip();
            }
        }
    }

    private static void parseNormalizerSpec(ProtoReader r, Builder b) {
        while (r.next()) {
            switch (r.field()) {
                case 1 -> b.normalizerName = r.readString();
                case 3 -> b.addDummyPrefix = r.readBool();
                case 4 -> b.removeExtraWhitespaces = r.readBool();
                case 5 -> b.escapeWhitespaces = r.readBool();
                default -> r.skip();
            }
        }
    }

    /** Mutable accumulator holding the proto2 defaults of sentencepiece_model.proto. */
    private static final class Builder {
        final List<Piece> pieces = new ArrayList<>();
        ModelType modelType = ModelType.UNIGRAM;
        int unkId = 0;
        int bosId = 1;
        int eosId = 2;
        boolean byteFallback = false;
        boolean treatWhitespaceAsSuffix = false;
        String unkSurface = " \u2047 ";
        String normalizerName = "nmt_nfkc";
        boolean addDummyPrefix = true;
        boolean removeExtraWhitespaces = true;
        boolean escapeWhitespaces = true;

        SentencePieceModel build() {
            if (pieces.isEmpty()) {
                throw new IllegalArgumentException("the model has no pieces");
            }
            int n = pieces.size();
            if (unkId < 0 || unkId >= n) {
                throw new IllegalArgumentException("unk id " + unkId + " outside the vocabulary of " + n);
            }
            if (bosId >= n || eosId >= n) {
                throw new IllegalArgumentException("bos/eos id outside the vocabulary of " + n);
            }
            return new SentencePieceModel(List.copyOf(pieces), modelType, unkId, bosId, eosId, byteFallback,
                    treatWhitespaceAsSuffix, unkSurface, normalizerName, addDummyPrefix,
                    removeExtraWhitespaces, escapeWhitespaces);
        }
    }
}
