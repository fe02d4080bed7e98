package dev.merv.core.train;

import dev.merv.core.testing.standin.TinyLm;
import dev.merv.core.testing.standin.TinyBatch;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.config.Resume;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoint integrity: every checkpoint records the size and CRC-32C of each of its files in
 * {@code state.json}; {@link Checkpoints#verify} names the file and what is wrong with it; a resume skips
 * damaged checkpoints for the newest intact one and ends bitwise where an uninterrupted run ends; rotation
 * keeps what a resume needs.
 */
class CheckpointIntegrityTest {

    @TempDir
    Path root;

    static final int STEPS = 6;

    private TrainConfig cfg(String id) {
        TrainConfig c = TrainerTesting.config(root, id, 12, 12, "cpu", STEPS);
        c.saveCheckpointAfter = 2;
        c.keepCheckpoints = 0;
        return c;
    }

    private static Map<String, float[]> train(TrainConfig c) {
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(c, TrainerTesting.source())) {
            t.run();
            return TrainerTesting.weights(t);
        }
    }

    @Test
    void stateJsonRecordsSizeAndChecksumOfEveryOtherFile() throws IOException {
        train(cfg("sums"));
        List<Path> ckpts = Checkpoints.list(root.resolve("sums/checkpoints"));
        assertThat(ckpts).hasSize(STEPS / 2);
        for (Path ckpt : ckpts) {
            JsonObject files = JsonParser.parseString(Files.readString(ckpt.resolve("state.json"))).getAsJsonObject()
                    .getAsJsonObject("files");
            Set<String> onDisk = new TreeSet<>();
            try (Stream<Path> s = Files.list(ckpt)) {
                s.map(p -> p.getFileName().toString()).filter(n -> !n.equals("state.json")).forEach(onDisk::add);
            }
            assertThat(new TreeSet<>(files.keySet())).isEqualTo(onDisk)
                    .contains("model.safetensors", "optimizer-rank-0-of-1.safetensors", Trainer.TRAIN_CONFIG);
            for (String name : onDisk) {
                byte[] bytes = Files.readAllBytes(ckpt.resolve(name));
                CRC32C crc = new CRC32C();
                crc.update(bytes);
                JsonObject f = files.getAsJsonObject(name);
                assertThat(f.get("size").getAsLong()).as(name).isEqualTo(bytes.length);
                assertThat(f.get("crc32c").getAsString()).as(name).isEqualTo(String.format("%08x", crc.getValue()));
            }
            assertThat(Checkpoints.verify(ckpt)).isEmpty();
        }
    }

    @Test
    void verifyNamesTheFileAndWhatIsWrong() throws IOException {
        train(cfg("dmg"));
        List<Path> ckpts = Checkpoints.list(root.resolve("dmg/checkpoints"));

        Path cut = ckpts.get(0);
        long size = Files.size(cut.resolve("model.safetensors"));
        cutInHalf(cut.resolve("model.safetensors"));
        assertThat(Checkpoints.verify(cut)).singleElement().satisfies(d -> {
            assertThat(d.file()).isEqualTo("model.safetensors");
            assertThat(d.problem()).contains("cut short").contains(String.format("%,d expected", size));
        });

        Path flipped = ckpts.get(1);
        Path shard = flipped.resolve("optimizer-rank-0-of-1.safetensors");
        byte[] b = Files.readAllBytes(shard);
        b[b.length / 2] ^= 0x10;
        Files.write(shard, b);
        Files.delete(flipped.resolve(Trainer.TRAIN_CONFIG));
        assertThat(Checkpoints.verify(flipped)).extracting(Checkpoints.Damage::file, d -> d.problem().split(" ")[0])
                .containsExactlyInAnyOrder(org.assertj.core.groups.Tuple.tuple(Trainer.TRAIN_CONFIG, "missing"),
                        org.assertj.core.groups.Tuple.tuple("optimizer-rank-0-of-1.safetensors", "contents"));

        Path incomplete = ckpts.get(2);
        Files.delete(incomplete.resolve("state.json"));
        assertThat(Checkpoints.verify(incomplete)).singleElement()
                .satisfies(d -> assertThat(d.toString()).contains("state.json: missing (an incomplete checkpoint)"));
        Files.writeString(incomplete.resolve("state.json"), "{\"step\": 6, \"epo");
        assertThat(Checkpoints.verify(incomplete)).singleElement()
                .satisfies(d -> assertThat(d.toString()).contains("state.json: unreadable"));
    }

    /**
     * The done-when case in process (the launcher's child-JVM version is in merv-examples): every safetensors
     * file of the latest checkpoint cut in half; {@code --resume auto} reports it, continues from the previous
     * checkpoint and ends with the uninterrupted run's weights, bit for bit; rotation then keeps both.
     */
    @Test
    void autoResumeSkipsADamagedLatestCheckpointAndEndsBitwiseEqual() throws IOException {
        Map<String, float[]> ref = train(cfg("ref"));

        TrainConfig first = cfg("cut");
        first.keepCheckpoints = 2;
        first.stopAfterSteps = 4;
        train(first);
        Path latest = Checkpoints.latest(root.resolve("cut"));
        assertThat(latest.getFileName().toString()).startsWith("step-000004-");
        for (String f : List.of("model.safetensors", "optimizer-rank-0-of-1.safetensors")) {
            cutInHalf(latest.resolve(f));
        }

        TrainConfig again = cfg("cut");
        again.keepCheckpoints = 2;
        again.resume = Resume.AUTO;
        ByteArrayOutputStream report = new ByteArrayOutputStream();
        RunStart start = RunStart.open(again, new PrintStream(report, true, StandardCharsets.UTF_8));
        assertThat(start.checkpoint().getFileName().toString()).startsWith("step-000002-");
        assertThat(start.damaged()).extracting(Checkpoints.Damage::file)
                .containsExactlyInAnyOrder("model.safetensors", "optimizer-rank-0-of-1.safetensors");
        assertThat(report.toString(StandardCharsets.UTF_8)).contains("is damaged, skipping it").contains(latest.toString())
                .contains("cut short");
        Map<String, float[]> resumed;
        try (Trainer<TinyBatch> t = new Trainer<>(again, start, (r, d, m) -> new TinyLm(TrainerTesting.VOCAB,
                TrainerTesting.DIM, TrainerTesting.LAYERS, TrainerTesting.HEADS, TrainerTesting.HIDDEN)
                .init(TrainerTesting.MODEL_SEED, m), TrainerTesting.source(), null)) {
            assertThat(t.globalStep()).isEqualTo(2);
            assertThat(t.run()).hasSize(STEPS - 2);
            resumed = TrainerTesting.weights(t);
        }
        assertBitwise(ref, resumed);
        List<Path> kept = Checkpoints.list(root.resolve("cut/checkpoints"));
        assertThat(kept).extracting(p -> p.getFileName().toString().substring(0, 11))
                .containsExactly("step-000004", "step-000006");
        assertThat(kept).allSatisfy(p -> assertThat(Checkpoints.verify(p)).isEmpty());
        String start0 = Files.readAllLines(root.resolve("cut/metrics.jsonl")).stream()
                .filter(l -> l.contains("\"event\":\"start\"") && l.contains("resumed")).findFirst().orElseThrow();
        assertThat(start0).contains("step-000002-", "damaged_checkpoints", "model.safetensors");
    }

    @Test
    void resumeModes() throws IOException {
        // auto on a new run: a fresh start, said so
        TrainConfig fresh = cfg("new");
        fresh.resume = Resume.AUTO;
        try (RunStart s = RunStart.open(fresh, System.err)) {
            assertThat(s.resumes()).isFalse();
            assertThat(s.describe()).contains("starting fresh").contains("no checkpoint yet");
        }
        // true on a new run: refused, pointing at auto
        TrainConfig required = cfg("new");
        required.resume = Resume.REQUIRED;
        assertThatThrownBy(() -> RunStart.open(required, System.err)).hasMessageContaining("no intact checkpoint")
                .hasMessageContaining("--resume auto");

        TrainConfig two = cfg("two");
        two.stopAfterSteps = 2;
        train(two);
        Path only = Checkpoints.latest(root.resolve("two"));
        cutInHalf(only.resolve("model.safetensors"));
        // true with every checkpoint damaged: refused naming the file
        assertThatThrownBy(() -> RunStart.open(required(two), System.err)).hasMessageContaining("model.safetensors")
                .hasMessageContaining("cut short");
        // an explicit checkpoint that is damaged: refused
        TrainConfig explicit = cfg("two");
        explicit.resumeFromCheckpoint = only.toString();
        assertThatThrownBy(() -> RunStart.open(explicit, System.err)).hasMessageContaining("is damaged")
                .hasMessageContaining("model.safetensors");
        // auto with every checkpoint damaged: a fresh start that names what it skipped
        TrainConfig auto = cfg("two");
        auto.resume = Resume.AUTO;
        try (RunStart s = RunStart.open(auto, System.err)) {
            assertThat(s.resumes()).isFalse();
            assertThat(s.describe()).contains("no intact checkpoint").contains("model.safetensors");
        }
    }

    private TrainConfig required(TrainConfig c) {
        TrainConfig r = cfg(c.runId);
        r.resume = Resume.REQUIRED;
        return r;
    }

    /**
     * A run restarted from an older checkpoint continues that line: after it checkpoints, {@code latest} names
     * its checkpoint and a later {@code --resume auto} resumes there, not from the newer checkpoints the
     * abandoned line left behind.
     */
    @Test
    void autoResumeFollowsTheLatestPointerAfterARestartFromAnOlderCheckpoint() {
        train(cfg("line"));
        List<Path> all = Checkpoints.list(root.resolve("line/checkpoints"));
        TrainConfig back = cfg("line");
        back.resumeFromCheckpoint = all.get(0).toString();
        back.stopAfterSteps = 1;
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(back, TrainerTesting.source())) {
            t.run();
            assertThat(t.globalStep()).isEqualTo(3);
        }
        TrainConfig auto = cfg("line");
        auto.resume = Resume.AUTO;
        try (RunStart s = RunStart.open(auto, System.err)) {
            assertThat(s.checkpoint().getFileName().toString()).startsWith("step-000003-");
        }
    }

    /** Rotation (keep 1) after a resume that skipped a damaged newer checkpoint keeps the checkpoint just written. */
    @Test
    void rotationNeverDeletesTheCheckpointJustWritten() throws IOException {
        TrainConfig c = cfg("rot");
        c.saveCheckpointAfter = 3;
        c.keepCheckpoints = 0;
        c.stopAfterSteps = 6;
        train(c);
        // step-3 and step-6 exist; step-6 is damaged
        cutInHalf(Checkpoints.latest(root.resolve("rot")).resolve("model.safetensors"));
        TrainConfig again = cfg("rot");
        again.saveCheckpointAfter = 2;
        again.keepCheckpoints = 1;
        again.resume = Resume.AUTO;
        again.stopAfterSteps = 1;
        try (Trainer<TinyBatch> t = TrainerTesting.trainer(again, TrainerTesting.source())) {
            assertThat(t.globalStep()).isEqualTo(3);
            t.run();
        }
        // step-4 (just written) is kept; step-3 rotated away; the damaged step-6 of the abandoned line is left alone
        List<Path> left = Checkpoints.list(root.resolve("rot/checkpoints"));
        assertThat(left).extracting(p -> p.getFileName().toString().substring(0, 11))
                .containsExactly("step-000004", "step-000006");
        assertThat(Checkpoints.verify(left.get(0))).isEmpty();
        assertThat(Checkpoints.latest(root.resolve("rot"))).isEqualTo(left.get(0));
    }

    /** Files a model adds to its checkpoints are written, recorded and verified like the others. */
    @Test
    void aModelsOwnCheckpointFilesAreRecordedAndVerified() throws IOException {
        TrainConfig c = cfg("extra");
        c.maxSteps = 2;
        try (Trainer<TinyBatch> t = new Trainer<>(c, (r, d, m) -> {
            TinyLm lm = new TinyLm(TrainerTesting.VOCAB, TrainerTesting.DIM, TrainerTesting.LAYERS, TrainerTesting.HEADS,
                    TrainerTesting.HIDDEN).init(TrainerTesting.MODEL_SEED, m);
            return new TrainableModel<TinyBatch>() {
                @Override
                public Map<String, dev.merv.core.nn.Param> parameters() {
                    return lm.parameters();
                }

                @Override
                public LossSum forward(TinyBatch batch) {
                    return lm.forward(batch);
                }
            };
        }, TrainerTesting.source(), null)) {
            t.addCheckpointFiles((dir, weights) -> Files.writeString(dir.resolve("adapter_config.json"), "{\"r\": 8}"));
            t.run();
        }
        Path ckpt = Checkpoints.latest(root.resolve("extra"));
        assertThat(ckpt.resolve("adapter_config.json")).hasContent("{\"r\": 8}");
        assertThat(Files.readString(ckpt.resolve("state.json"))).contains("\"adapter_config.json\"");
        Files.writeString(ckpt.resolve("adapter_config.json"), "{\"r\": 9}");
        assertThat(Checkpoints.verify(ckpt)).singleElement()
                .satisfies(d -> assertThat(d.toString()).contains("adapter_config.json: contents changed"));
    }

    static void cutInHalf(Path f) throws IOException {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() / 2);
        }
    }

    static void assertBitwise(Map<String, float[]> expected, Map<String, float[]> actual) {
        assertThat(actual.keySet()).isEqualTo(expected.keySet());
        for (String k : expected.keySet()) {
            float[] a = expected.get(k);
            float[] b = actual.get(k);
            assertThat(b.length).as(k).isEqualTo(a.length);
            for (int i = 0; i < a.length; i++) {
                if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
                    throw new AssertionError(k + "[" + i + "]: " + b[i] + " != " + a[i] + " (uninterrupted run)");
                }
            }
        }
    }
}
