package dev.gblm.prune;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import org.junit.jupiter.api.Test;

class ParsingTest {

    @Test
    void methodsParseCaseInsensitivelyAndRejectUnknown() {
        assertThat(Method.parse("GBLM")).isEqualTo(Method.GBLM);
        assertThat(Method.parse(" sparsegpt ")).isEqualTo(Method.SPARSEGPT);
        for (Method m : Method.values()) {
            assertThat(Method.parse(m.cliName())).isEqualTo(m);
        }
        assertThatThrownBy(() -> Method.parse("obs")).isInstanceOf(GblmException.class)
                .hasMessage("unknown pruning method 'obs' (expected one of magnitude, wanda, gradient, gblm, sparsegpt)");
        assertThat(GradNorm.parse("L2")).isEqualTo(GradNorm.L2);
        assertThatThrownBy(() -> GradNorm.parse("l3")).isInstanceOf(GblmException.class).hasMessageContaining("l1 or l2");
    }

    @Test
    void patternsParseAndValidate() {
        SparsityPattern u = SparsityPattern.parse("unstructured", 0.5);
        assertThat(u.isUnstructured()).isTrue();
        assertThat(u.sparsity()).isEqualTo(0.5);
        SparsityPattern nm = SparsityPattern.parse("2:4", null);
        assertThat(nm.isNm()).isTrue();
        assertThat(nm.n()).isEqualTo(2);
        assertThat(nm.m()).isEqualTo(4);
        assertThat(nm.sparsity()).isEqualTo(0.5);
        assertThat(SparsityPattern.parse("4:8", 0.5)).isEqualTo(SparsityPattern.nm(4, 8));

        assertThatThrownBy(() -> SparsityPattern.parse("unstructured", 1.0)).isInstanceOf(GblmException.class)
                .hasMessage("sparsity must be in (0, 1), got 1.0");
        assertThatThrownBy(() -> SparsityPattern.parse("unstructured", 0.0)).isInstanceOf(GblmException.class);
        assertThatThrownBy(() -> SparsityPattern.parse("unstructured", -0.2)).isInstanceOf(GblmException.class);
        assertThatThrownBy(() -> SparsityPattern.parse("unstructured", null)).isInstanceOf(GblmException.class)
                .hasMessageContaining("needs a sparsity");
        assertThatThrownBy(() -> SparsityPattern.parse("2:4", 0.6)).isInstanceOf(GblmException.class)
                .hasMessage("pattern 2:4 means sparsity 0.5, but sparsity 0.6 was given (omit it or pass 0.5)");
        assertThatThrownBy(() -> SparsityPattern.parse("4:4", null)).isInstanceOf(GblmException.class)
                .hasMessageContaining("1 <= N < M");
        assertThatThrownBy(() -> SparsityPattern.parse("2:x", null)).isInstanceOf(GblmException.class)
                .hasMessageContaining("bad sparsity pattern");
        assertThatThrownBy(() -> SparsityPattern.parse("blocky", 0.5)).isInstanceOf(GblmException.class);
    }

    @Test
    void tailRules() {
        assertThat(TailRule.defaultRule()).isEqualTo(TailRule.PROPORTIONAL);
        assertThat(TailRule.REFERENCE.prunedInGroup(4, 8, 4)).isEqualTo(4);
        assertThat(TailRule.PROPORTIONAL.prunedInGroup(4, 8, 4)).isEqualTo(2);
        assertThat(TailRule.REFERENCE.prunedInGroup(2, 4, 1)).isEqualTo(1);
        assertThat(TailRule.PROPORTIONAL.prunedInGroup(2, 4, 1)).isEqualTo(0);
        assertThat(TailRule.PROPORTIONAL.prunedInGroup(2, 4, 4)).isEqualTo(2);
    }
}
