package dev.gblm.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A tiny byte-level BPE {@code tokenizer.json} for tests. Vocabulary: {@code <s>}=0, {@code </s>}=1,
 * a..z = 2..27, Ġ (space) = 28, then he, ll, hell, hello, Ġw, or, Ġwor = 29..35, merged in that order.
 */
public final class TinyTokenizerJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    private TinyTokenizerJson() {}

    /** Writes a minimal byte-level BPE tokenizer.json (the layout LLaMA-3 uses) into {@code dir}. */
    public static Path write(Path dir) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        addSpecial(added, 0, "<s>");
        addSpecial(added, 1, "</s>");
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "ByteLevel");
        pre.put("add_prefix_space", false);
        pre.put("trim_offsets", true);
        pre.put("use_regex", true);
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode bos = post.putObject("special_tokens").putObject("<s>");
        bos.put("id", "<s>");
        bos.putArray("ids").add(0);
        bos.putArray("tokens").add("<s>");
        ObjectNode decoder = root.putObject("decoder");
        decoder.put("type", "ByteLevel");
        decoder.put("add_prefix_space", true);
        decoder.put("trim_offsets", true);
        decoder.put("use_regex", true);

        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        ObjectNode vocab = model.putObject("vocab");
        vocab.put("<s>", 0);
        vocab.put("</s>", 1);
        for (char c = 'a'; c <= 'z'; c++) {
            vocab.put(String.valueOf(c), 2 + (c - 'a'));
        }
        vocab.put("\u0120", 28); // Ġ, the byte-level image of a space
        String[] merged = {"he", "ll", "hell", "hello", "\u0120w", "or", "\u0120wor"};
        for (int i = 0; i < merged.length; i++) {
            vocab.put(merged[i], 29 + i);
        }
        ArrayNode merges = model.putArray("merges");
        for (String m : new String[] {"h e", "l l", "he ll", "hell o", "\u0120 w", "o r", "\u0120w or"}) {
            merges.add(m);
        }
        Path file = dir.resolve("tokenizer.json");
        JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), root);
        return file;
    }

    private static void addSpecial(ArrayNode added, int id, String content) {
        ObjectNode t = added.addObject();
        t.put("id", id);
        t.put("content", content);
        t.put("single_word", false);
        t.put("lstrip", false);
        t.put("rstrip", false);
        t.put("normalized", false);
        t.put("special", true);
    }
}
