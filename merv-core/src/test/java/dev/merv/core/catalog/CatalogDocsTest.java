package dev.merv.core.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merv.core.config.ModelRegistry;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.testing.RepoDocs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The id tables of {@code docs/weights.md} are the catalog rendered: each table between
 * {@code <!-- catalog:NAME -->} and {@code <!-- /catalog:NAME -->} must equal {@link #render}'s output, and
 * the docs list exactly the catalog's ids. Run with {@code -Dmerv.updateDocs=true} to rewrite the tables
 * after changing the catalog. {@code docs/configuration.md} lists exactly the registered presets.
 */
class CatalogDocsTest {

    private static Path docs(String name) {
        return RepoDocs.file(name);
    }

    @Test
    void weightsTablesAreTheCatalog() throws IOException {
        Path file = docs("weights.md");
        String md = Files.readString(file, StandardCharsets.UTF_8);
        String updated = md;
        for (String table : List.of("encoders", "unsupported-encoders", "llms")) {
            Pattern p = Pattern.compile("(<!-- catalog:" + table + " -->\\n)(.*?)(<!-- /catalog:" + table + " -->)", Pattern.DOTALL);
            Matcher m = p.matcher(updated);
            assertThat(m.find()).as(file + " has the catalog:" + table + " markers").isTrue();
            String want = render(table);
            if (Boolean.getBoolean("merv.updateDocs")) {
                updated = updated.substring(0, m.start(2)) + want + updated.substring(m.end(2));
            } else {
                assertThat(m.group(2)).as(file + " table catalog:" + table
                        + " is not the catalog's (rerun with -Dmerv.updateDocs=true to regenerate)").isEqualTo(want);
            }
        }
        if (!updated.equals(md)) {
            Path tmp = Files.createTempFile(file.getParent(), "weights", ".md.tmp");
            Files.writeString(tmp, updated, StandardCharsets.UTF_8);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
        // the docs name every id of the catalog, each once
        List<String> ids = firstColumnIds(updated);
        List<String> all = new ArrayList<>();
        Catalog.encoders().forEach(e -> all.add(e.id()));
        Catalog.llms().forEach(e -> all.add(e.id()));
        assertThat(ids).containsExactlyInAnyOrderElementsOf(all);
    }

    @Test
    void configurationListsTheRegisteredPresets() throws IOException {
        String md = Files.readString(docs("configuration.md"), StandardCharsets.UTF_8);
        int start = md.indexOf("## Registered models");
        int end = md.indexOf("\n## ", start + 1);
        List<String> ids = new ArrayList<>();
        Matcher m = Pattern.compile("`([a-z0-9.-]+)`").matcher(firstColumns(md.substring(start, end)));
        while (m.find()) {
            ids.add(m.group(1));
        }
        assertThat(ids).containsExactlyElementsOf(ModelRegistry.ids());
    }

    private static List<String> firstColumnIds(String md) {
        List<String> ids = new ArrayList<>();
        for (String table : List.of("encoders", "unsupported-encoders", "llms")) {
            int s = md.indexOf("<!-- catalog:" + table + " -->");
            int e = md.indexOf("<!-- /catalog:" + table + " -->");
            Matcher m = Pattern.compile("`([A-Za-z0-9._-]+)`").matcher(firstColumns(md.substring(s, e)));
            while (m.find()) {
                ids.add(m.group(1));
            }
        }
        return ids;
    }

    /** The first cell of every body row of the markdown tables in {@code md}. */
    private static String firstColumns(String md) {
        StringBuilder b = new StringBuilder();
        for (String line : md.split("\n")) {
            if (line.startsWith("| ") && !line.startsWith("| id ") && !line.startsWith("|---")) {
                b.append(line, 0, line.indexOf(" |", 1)).append('\n');
            }
        }
        return b.toString();
    }

    static String render(String table) {
        StringBuilder b = new StringBuilder();
        switch (table) {
            case "encoders" -> {
                b.append("| id | checkpoint (tensor prefix) | frames | output [T', N, C] | tokens | transform | from |\n");
                b.append("|---|---|---|---|---|---|---|\n");
                for (EncoderEntry e : Catalog.encoders()) {
                    if (!e.supported()) {
                        continue;
                    }
                    EncoderGeometry g = e.geometry();
                    String frames = e.defaultFrames() + (g.frameMultiple() > 1 ? " (multiple of " + g.frameMultiple() + ")" : "");
                    b.append("| `").append(e.id()).append("` | ").append(checkpoint(e.hub(), e.checkpointPrefix(), e.provenance()))
                            .append(" | ").append(frames)
                            .append(" | ").append(g.temporalResolution(e.defaultFrames())).append(" x ").append(g.tokensPerSlot())
                            .append(" x ").append(g.embedDim())
                            .append(" | ").append(e.tokens().description())
                            .append(" | ").append(transform(e.transform()))
                            .append(" | ").append(provenance(e.provenance())).append(" |\n");
                }
            }
            case "unsupported-encoders" -> {
                b.append("| id | checkpoint | why merv does not build it |\n");
                b.append("|---|---|---|\n");
                for (EncoderEntry e : Catalog.encoders()) {
                    if (!e.supported()) {
                        b.append("| `").append(e.id()).append("` | `").append(e.hub().repo()).append("` | ")
                                .append(e.unsupported()).append(" |\n");
                    }
                }
            }
            case "llms" -> {
                b.append("| id | checkpoint | tokenizer | prompt format | pad | embedding rows | inference dtype | from |\n");
                b.append("|---|---|---|---|---|---|---|---|\n");
                for (LlmEntry e : Catalog.llms()) {
                    b.append("| `").append(e.id()).append("` | ").append(checkpoint(e.hub(), null, e.provenance()))
                            .append(" | ").append(e.tokenizer() == null ? "beside the weights"
                                    : "`" + e.tokenizer().repo() + "` at `" + e.tokenizer().revision() + "`")
                            .append(" | ").append(prompt(e.prompt()))
                            .append(" | ").append(pad(e.pad()))
                            .append(" | ").append(e.padToMultipleOf() > 0 ? "resized to a multiple of " + e.padToMultipleOf()
                                    : "as the checkpoint")
                            .append(" | ").append(e.inferenceDtype() == ScalarType.FLOAT16 ? "fp16 (W21)" : "bf16")
                            .append(" | ").append(provenance(e.provenance())).append(" |\n");
                }
            }
            default -> throw new AssertionError(table);
        }
        return b.toString();
    }

    private static String checkpoint(HubRef hub, String prefix, Provenance provenance) {
        if (hub == null) {
            return provenance == Provenance.TEST_FIXTURE ? "none (a golden fixture's model)" : "none (`./merv tiny-weights`)";
        }
        String s = "`" + hub + "`";
        return prefix == null || prefix.isEmpty() ? s : s + " (`" + prefix + "`)";
    }

    private static String transform(FrameTransformSpec t) {
        String kind = t.kind() == FrameTransformSpec.Kind.PIL_FRAMES ? "resize-naive " + t.interpolation().name().toLowerCase(Locale.ROOT)
                : "LanguageBind clip";
        return kind + " " + (t.square() ? String.valueOf(t.height()) : t.height() + "x" + t.width()) + " px";
    }

    private static String prompt(PromptFormat f) {
        return switch (f) {
            case PURE -> "Pure";
            case VICUNA_V15 -> "Vicuna v1.5";
            case LLAMA2_CHAT -> "LLaMa-2 chat";
            case LLAMA31 -> "Llama 3.1";
            case QWEN2 -> "Qwen2 ChatML";
        };
    }

    private static String pad(PadToken p) {
        return switch (p.kind()) {
            case ADD_TOKEN -> "add `" + p.token() + "`";
            case EXISTING -> "`" + p.token().replace("|", "\\|") + "` (" + p.id() + ")";
            case FORCED_ID -> "id " + p.id() + " forced (W5)";
        };
    }

    private static String provenance(Provenance p) {
        return switch (p) {
            case REFERENCE -> "reference";
            case MERV_EXTRA -> "merv extra";
            case MERV_TINY -> "merv-tiny";
            case TEST_FIXTURE -> "test fixture";
        };
    }
}
