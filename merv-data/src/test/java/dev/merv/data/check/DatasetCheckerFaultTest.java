package dev.merv.data.check;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.data.synth.SynthDataset;
import dev.merv.data.video.DecodeClock;
import dev.merv.data.video.VideoDecoder;
import dev.merv.data.videollava.DatasetRegistry;
import dev.merv.core.config.Stage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A generated dataset with one injected fault of every kind per JSON: the check reports exactly the
 * injected rows, with index, JSON, path and reason, and every other row is usable.
 */
class DatasetCheckerFaultTest {

    @TempDir
    static Path dir;
    static SynthDataset.Manifest manifest;

    /** One tick per demuxed packet: the 600-frame video times out, 48-frame ones never do. */
    static final VideoDecoder.Options TICKS = VideoDecoder.Options.defaults()
            .withTimeout(300_000_000L, DecodeClock.ticking(1_000_000L));

    @BeforeAll
    static void generate() throws Exception {
        manifest = SynthDataset.generate(SynthDataset.Config.of(dir.resolve("videollava"), 6, 42).withFaults(true));
    }

    @Test
    void everyFaultKindIsInjected() {
        Set<SkipReason> kinds = EnumSet.noneOf(SkipReason.class);
        manifest.faults().forEach(f -> kinds.add(f.reason()));
        assertThat(kinds).containsExactlyInAnyOrder(SkipReason.values());
    }

    @Test
    void finetuneReportIsExact() throws Exception {
        assertExact(Stage.FINETUNE, DatasetRegistry.FINETUNE_JSON, manifest.finetuneEntries());
    }

    @Test
    void alignReportIsExact() throws Exception {
        assertExact(Stage.ALIGN, DatasetRegistry.ALIGN_JSON, manifest.alignEntries());
    }

    private void assertExact(Stage stage, String json, int entries) throws Exception {
        DatasetChecker.Report r = DatasetChecker.check(DatasetRegistry.inVideoLlavaDir(manifest.root(), stage),
                new DatasetChecker.Options(32, 2, TICKS));
        List<SynthDataset.Fault> expected = new ArrayList<>(manifest.faults(json));
        expected.sort(Comparator.comparingInt(SynthDataset.Fault::index));
        assertThat(r.entries()).isEqualTo(entries);
        assertThat(r.usable()).isEqualTo(entries - expected.size());
        List<String> actual = r.skips().skips().stream()
                .map(s -> s.index() + " " + s.json() + " " + s.path() + " " + s.reason().code()).toList();
        List<String> want = expected.stream()
                .map(f -> f.index() + " " + json + " " + f.path() + " " + f.reason().code()).toList();
        assertThat(actual).containsExactlyElementsOf(want);
        for (Skip s : r.skips().skips()) {
            assertThat(s.detail()).as("detail of entry " + s.index()).isNotBlank();
        }
    }

    @Test
    void theReportFileListsEverySkippedEntry() throws Exception {
        Path out = dir.resolve("reports/finetune.json");
        DatasetChecker.check(DatasetRegistry.inVideoLlavaDir(manifest.root(), Stage.FINETUNE),
                new DatasetChecker.Options(32, 2, dev.merv.data.video.VideoDecoder.Options.defaults())).write(out);
        JsonObject o = JsonParser.parseString(Files.readString(out)).getAsJsonObject();
        assertThat(o.get("entries").getAsInt()).isEqualTo(manifest.finetuneEntries());
        JsonArray skipped = o.getAsJsonArray("skipped");
        // wall-clock time with the default 60 s budget: the long video decodes fine here
        List<SynthDataset.Fault> expected = manifest.faults(DatasetRegistry.FINETUNE_JSON).stream()
                .filter(f -> f.reason() != SkipReason.TIMEOUT).sorted(Comparator.comparingInt(SynthDataset.Fault::index))
                .toList();
        assertThat(skipped.size()).isEqualTo(expected.size());
        assertThat(o.get("usable").getAsInt()).isEqualTo(manifest.finetuneEntries() - expected.size());
        for (int i = 0; i < expected.size(); i++) {
            JsonObject s = skipped.get(i).getAsJsonObject();
            assertThat(s.get("index").getAsInt()).isEqualTo(expected.get(i).index());
            assertThat(s.get("json").getAsString()).isEqualTo(DatasetRegistry.FINETUNE_JSON);
            assertThat(s.get("path").getAsString()).isEqualTo(expected.get(i).path());
            assertThat(s.get("reason").getAsString()).isEqualTo(expected.get(i).reason().code());
        }
    }
}
