package dev.merv.data.videollava;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonArrayIndexTest {

    @TempDir
    Path dir;

    private JsonArrayIndex index(String text) throws IOException {
        Path p = dir.resolve("a.json");
        Files.writeString(p, text, StandardCharsets.UTF_8);
        return JsonArrayIndex.build(p);
    }

    @Test
    void findsElementsAcrossStringsEscapesAndNesting() throws IOException {
        String a = "{\"v\": \"a ] } , [ { string\", \"q\": \"esc \\\" ] quote\", \"n\": [1, {\"x\": [2]}]}";
        String b = "{\"unicode\": \"é 中 \\u00e9\"}";
        try (JsonArrayIndex idx = index("\uFEFF  [\n " + a + " ,\n\t" + b + ",  42 , \"s]\", null ]  ")) {
            assertThat(idx.size()).isEqualTo(5);
            assertThat(idx.text(0)).isEqualTo(a);
            assertThat(idx.text(1)).isEqualTo(b);
            assertThat(idx.text(2)).isEqualTo("42");
            assertThat(idx.text(3)).isEqualTo("\"s]\"");
            assertThat(idx.text(4)).isEqualTo("null");
        }
    }

    @Test
    void emptyArrayAndTruncatedTail() throws IOException {
        try (JsonArrayIndex idx = index("[ ]")) {
            assertThat(idx.size()).isZero();
        }
        try (JsonArrayIndex idx = index("[{\"a\": 1}, {\"b\": [1, 2")) {
            assertThat(idx.size()).isEqualTo(2);
            assertThat(idx.text(0)).isEqualTo("{\"a\": 1}");
            assertThat(idx.text(1)).isEqualTo("{\"b\": [1, 2");
        }
    }

    @Test
    void aFileThatIsNotAnArrayIsRejected() {
        assertThatThrownBy(() -> index("{\"a\": 1}")).isInstanceOf(IOException.class).hasMessageContaining("JSON array");
        assertThatThrownBy(() -> index("")).isInstanceOf(IOException.class).hasMessageContaining("empty");
    }
}
