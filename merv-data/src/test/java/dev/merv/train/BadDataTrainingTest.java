package dev.merv.train;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.train.StepRecord;
import dev.merv.data.check.SkipReason;
import dev.merv.data.synth.SynthDataset;
import dev.merv.data.videollava.DatasetRegistry;
import dev.merv.build.TinyBackbones;
import dev.merv.core.config.Stage;
import dev.merv.core.weights.BackboneWeights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A whole epoch over a dataset with one bad entry of every kind, at per-device batch 1 (so a bad row is a
 * whole micro-batch): training never stops, every bad entry is reported with its index, nothing else is
 * lost.
 */
class BadDataTrainingTest {

    @Test
    void anEpochOverBrokenFilesCompletesAndReportsEveryBadEntry(@TempDir Path dir) throws Exception {
        TinyBackbones.write(dir.resolve("weights"), 0);
        SynthDataset.Manifest m = SynthDataset.generate(
                SynthDataset.Config.of(dir.resolve("data/download/videollava"), 4, 5).withFaults(true));
        TrainingResult result = Training.builder("merv-tiny").stage(Stage.FINETUNE).datasetRoot(dir.resolve("data"))
                .weights(BackboneWeights.root(dir.resolve("weights"))).runRoot(dir.resolve("runs")).runId("bad")
                .devices("cpu").globalBatchSize(2).perDeviceBatchSize(1).loaderThreads(1).console(false)
                .build().run();
        List<StepRecord> records = result.steps();

        assertThat(records).isNotEmpty();
        assertThat(records).allSatisfy(r -> assertThat(r.loss()).isFinite());
        JsonObject report = JsonParser.parseString(Files.readString(result.runDir().resolve("skipped.json")))
                .getAsJsonObject();
        Set<Integer> reported = new HashSet<>();
        report.getAsJsonArray("entries").forEach(e -> reported.add(e.getAsJsonObject().get("index").getAsInt()));
        // the over-long video decodes within the default timeout; every other injected fault must be reported
        List<SynthDataset.Fault> faults = m.faults(DatasetRegistry.FINETUNE_JSON).stream()
                .filter(f -> f.reason() != SkipReason.TIMEOUT).toList();
        assertThat(faults).isNotEmpty();
        for (SynthDataset.Fault f : faults) {
            assertThat(reported).as("fault %s at entry %d", f.reason(), f.index()).contains(f.index());
        }
        Set<Integer> faultRows = new HashSet<>();
        m.faults(DatasetRegistry.FINETUNE_JSON).forEach(f -> faultRows.add(f.index()));
        assertThat(faultRows).containsAll(reported);
    }
}
