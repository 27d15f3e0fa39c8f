package dev.gblm.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gblm.GblmException;
import org.junit.jupiter.api.Test;

class LlamaConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final LlamaConfig cfg = new LlamaConfig(64, 172, 5, 8, 4, 512, 512, 1e-5, 500000, false, 1, 2, "bfloat16");

    @Test
    void jsonRoundTrip() {
        assertThat(LlamaConfig.fromJson(cfg.toJson())).isEqualTo(cfg);
    }

    @Test
    void hfDefaultsApply() throws Exception {
        LlamaConfig c = LlamaConfig.fromJson(JSON.readTree("""
                {"model_type":"llama","hidden_size":32,"intermediate_size":64,"num_hidden_layers":2,
                 "num_attention_heads":4,"vocab_size":100,"eos_token_id":[7,8]}"""));
        assertThat(c.numKvHeads()).isEqualTo(4);
        assertThat(c.ropeTheta()).isEqualTo(10000.0);
        assertThat(c.tieWordEmbeddings()).isFalse();
        assertThat(c.eosTokenId()).isEqualTo(7);
    }

    @Test
    void unsupportedFieldsAreRejected() {
        assertRejected("rope_scaling", JSON.createObjectNode().put("type", "yarn").put("factor", 4.0),
                "rope_scaling type 'yarn' (supported: linear, dynamic, llama3)");
        assertRejected("model_type", JSON.getNodeFactory().textNode("gpt2"), "model_type");
        assertRejected("head_dim", JSON.getNodeFactory().numberNode(15), "head size 15 is odd");
        assertRejected("attention_bias", JSON.getNodeFactory().booleanNode(true), "attention_bias");
        assertRejected("hidden_act", JSON.getNodeFactory().textNode("gelu"), "hidden_act");
    }

    private void assertRejected(String field, com.fasterxml.jackson.databind.JsonNode value, String msg) {
        ObjectNode n = cfg.toJson();
        n.set(field, value);
        assertThatThrownBy(() -> LlamaConfig.fromJson(n)).isInstanceOf(GblmException.class).hasMessageContaining(msg);
    }

    /** The config.json of Llama 3.1 8B (as published), less fields the engine does not read. */
    private static final String LLAMA_31_8B = """
            {"architectures":["LlamaForCausalLM"],"attention_bias":false,"attention_dropout":0.0,
             "bos_token_id":128000,"eos_token_id":[128001,128008,128009],"hidden_act":"silu","hidden_size":4096,
             "initializer_range":0.02,"intermediate_size":14336,"max_position_embeddings":131072,"mlp_bias":false,
             "model_type":"llama","num_attention_heads":32,"num_hidden_layers":32,"num_key_value_heads":8,
             "pretraining_tp":1,"rms_norm_eps":1e-05,
             "rope_scaling":{"factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,
               "original_max_position_embeddings":8192,"rope_type":"llama3"},
             "rope_theta":500000.0,"tie_word_embeddings":false,"torch_dtype":"bfloat16","use_cache":true,
             "vocab_size":128256}""";

    @Test
    void llama31ConfigIsReadWithItsScalingAndEosList() throws Exception {
        LlamaConfig c = LlamaConfig.fromJson(JSON.readTree(LLAMA_31_8B));
        assertThat(c.ropeScaling()).isEqualTo(RopeScaling.llama3(8, 1, 4, 8192));
        assertThat(c.eosTokenId()).isEqualTo(128001);
        assertThat(c.eosTokens()).containsExactly(128001, 128008, 128009);
        assertThat(c.headDim()).isEqualTo(128);
        assertThat(c.numKvHeads()).isEqualTo(8);
        assertThat(c.maxSequenceLength()).isEqualTo(131072);
        ObjectNode written = c.toJson();
        assertThat(written.get("eos_token_id").toString()).isEqualTo("[128001,128008,128009]");
        assertThat(written.get("rope_scaling").get("rope_type").asText()).isEqualTo("llama3");
        assertThat(LlamaConfig.fromJson(written)).isEqualTo(c);
    }

    @Test
    void newFieldsRoundTrip() {
        LlamaConfig c = cfg.withHeadDim(16).withRopeScaling(RopeScaling.llama3(32, 1, 4, 8192))
                .withEosTokenIds(java.util.List.of(2, 9)).withSlidingWindow(4096);
        assertThat(c.qDim()).isEqualTo(128).isNotEqualTo(c.hiddenSize());
        assertThat(LlamaConfig.fromJson(c.toJson())).isEqualTo(c);
        for (RopeScaling r : new RopeScaling[] {RopeScaling.linear(2), RopeScaling.linear(1),
            new RopeScaling(RopeScaling.Type.DYNAMIC, 4, 0, 0, 0), new RopeScaling(RopeScaling.Type.DYNAMIC, 2, 0, 0,
            4096)}) {
            assertThat(LlamaConfig.fromJson(cfg.withRopeScaling(r).toJson()).ropeScaling()).isEqualTo(r);
        }
        // one eos id given as a number stays a number; given as a one-element list stays a list
        assertThat(cfg.toJson().get("eos_token_id").isInt()).isTrue();
        LlamaConfig listOfOne = cfg.withEosTokenIds(java.util.List.of(2));
        assertThat(listOfOne.toJson().get("eos_token_id").toString()).isEqualTo("[2]");
        assertThat(LlamaConfig.fromJson(listOfOne.toJson())).isEqualTo(listOfOne).isNotEqualTo(cfg);
        assertThat(cfg.toJson().has("sliding_window")).isFalse();
    }

    @Test
    void olderAndNewerRopeSpellingsAreRead() throws Exception {
        ObjectNode older = cfg.toJson();
        older.set("rope_scaling", JSON.readTree("{\"type\":\"linear\",\"factor\":4.0}"));
        assertThat(LlamaConfig.fromJson(older).ropeScaling()).isEqualTo(RopeScaling.linear(4));
        ObjectNode dflt = cfg.toJson();
        dflt.set("rope_scaling", JSON.readTree("{\"rope_type\":\"default\"}"));
        assertThat(LlamaConfig.fromJson(dflt)).isEqualTo(cfg);
        // transformers 5: rope_theta and the scaling under rope_parameters
        ObjectNode v5 = cfg.toJson();
        v5.remove("rope_theta");
        v5.remove("rope_scaling");
        v5.set("rope_parameters", JSON.readTree("{\"rope_type\":\"llama3\",\"rope_theta\":500000.0,\"factor\":8.0,"
                + "\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,\"original_max_position_embeddings\":8192}"));
        assertThat(LlamaConfig.fromJson(v5)).isEqualTo(cfg.withRopeScaling(RopeScaling.llama3(8, 1, 4, 8192)));
    }

    @Test
    void mistralSlidingWindowIsAcceptedAndBoundsTheSequenceLength() throws Exception {
        ObjectNode n = cfg.toJson();
        n.put("model_type", "mistral");
        n.put("sliding_window", 128);
        LlamaConfig c = LlamaConfig.fromJson(n);
        assertThat(c.slidingWindow()).isEqualTo(128);
        assertThat(c.maxSequenceLength()).isEqualTo(128);
        n.put("sliding_window", 4096);
        assertThat(LlamaConfig.fromJson(n).maxSequenceLength()).isEqualTo(512);
        n.putNull("sliding_window");
        assertThat(LlamaConfig.fromJson(n).slidingWindow()).isNull();
    }

    @Test
    void badScalingsAreRefusedInOneLine() throws Exception {
        assertRejected("rope_scaling", JSON.readTree("{\"rope_type\":\"llama3\",\"factor\":8.0}"),
                "rope_scaling llama3 lacks integer 'original_max_position_embeddings'");
        assertRejected("rope_scaling", JSON.readTree("{\"rope_type\":\"llama3\",\"factor\":8.0,"
                + "\"original_max_position_embeddings\":8192,\"low_freq_factor\":1.0}"), "lacks number 'high_freq_factor'");
        assertRejected("rope_scaling", JSON.readTree("{\"rope_type\":\"linear\",\"factor\":0.5}"), "factor 0.5");
        assertRejected("rope_scaling", JSON.readTree("{\"rope_type\":\"longrope\",\"factor\":2.0}"),
                "rope_scaling type 'longrope'");
        assertRejected("eos_token_id", JSON.readTree("[\"a\"]"), "eos_token_id");
        assertRejected("sliding_window", JSON.getNodeFactory().numberNode(0), "sliding_window 0");
    }

    @Test
    void llama3FrequenciesFollowTheThreeRegimes() {
        // head size 16, theta 10000: wavelengths 2 pi * 10000^(i/8) = 6.3, 19.9, 62.8, 199, ... With original 64,
        // low 1, high 4: pair 0 (< 16) is kept, pairs 1 and 2 (16..64) are blended, pairs 3+ (> 64) divided by 8.
        LlamaConfig c = new LlamaConfig(64, 128, 1, 4, 2, 50, 256, 1e-5, 10000, false, 1, 2, "float32")
                .withRopeScaling(RopeScaling.llama3(8, 1, 4, 64));
        float[] plain = c.withRopeScaling(null).ropeInverseFrequencies();
        float[] scaled = c.ropeInverseFrequencies();
        assertThat(scaled[0]).isEqualTo(plain[0]);
        for (int i = 3; i < 8; i++) {
            assertThat((double) scaled[i]).isCloseTo(plain[i] / 8.0, org.assertj.core.api.Assertions.within(1e-9));
        }
        for (int i = 1; i <= 2; i++) {
            assertThat(scaled[i]).isLessThan(plain[i]).isGreaterThan(plain[i] / 8);
        }
        // pair 1 by hand: s = (64 / (2 pi / f) - 1) / 3, f' = (1 - s) f / 8 + s f
        double f = Math.pow(10000, -2.0 / 16);
        double s = (64 * f / (2 * Math.PI) - 1) / 3;
        assertThat((double) scaled[1]).isCloseTo((1 - s) * f / 8 + s * f, org.assertj.core.api.Assertions.within(1e-7));
        float[] linear = c.withRopeScaling(RopeScaling.linear(4)).ropeInverseFrequencies();
        assertThat((double) linear[2]).isCloseTo(plain[2] / 4.0, org.assertj.core.api.Assertions.within(1e-9));
        assertThat(c.withRopeScaling(new RopeScaling(RopeScaling.Type.DYNAMIC, 4, 0, 0, 0)).ropeInverseFrequencies())
                .containsExactly(plain);
    }
}
