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
}
