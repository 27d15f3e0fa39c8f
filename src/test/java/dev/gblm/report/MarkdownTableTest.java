package dev.gblm.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class MarkdownTableTest {
    @Test
    void rendersHeaderAlignmentAndRows() {
        String md = MarkdownTable.withHeaders("method", "mode", "ppl").align(1, MarkdownTable.Align.LEFT)
                .row("wanda", "sequential", "19.5").row("dense", "—", "4.184").render();
        assertThat(md).isEqualTo("""
                | method | mode | ppl |
                | :--- | :--- | ---: |
                | wanda | sequential | 19.5 |
                | dense | — | 4.184 |
                """);
    }

    @Test
    void escapesPipesAndNewlinesSoRowsStayIntact() {
        String md = MarkdownTable.withHeaders("a", "b").row("x|y", "1\n2").render();
        assertThat(md.lines().toList().get(2)).isEqualTo("| x\\|y | 1 2 |");
        assertThat(md.lines()).hasSize(3);
    }

    @Test
    void rejectsRowsOfTheWrongWidth() {
        MarkdownTable t = MarkdownTable.withHeaders("a", "b");
        assertThatThrownBy(() -> t.row("only one")).isInstanceOf(IllegalArgumentException.class);
        assertThat(t.rowCount()).isZero();
    }
}
