package dev.merv.examples;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.build.TinyBackbones;
import dev.merv.core.train.Checkpoints;
import dev.merv.data.synth.SynthDataset;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a cluster does to a days-long run, with {@code ./merv pretrain} in child JVMs on merv-tiny (fp32, CPU):
 * {@code --resume auto} on a new run starts fresh; after every safetensors file of the latest checkpoint is
 * cut in half it reports the damage, resumes from the previous checkpoint and ends with weights bitwise
 * equal to an uninterrupted run's; a second process on a busy run directory is refused within seconds while
 * the first keeps training, and after the first is killed with {@code kill -9} the next start takes its
 * lock over and resumes.
 */
class RunSurvivalTest {

    @TempDir
    static Path root;

    static final int STEPS = 6;

    @BeforeAll
    static void setUp() throws IOException {
        TinyBackbones.write(root.resolve("weights"), 0);
        SynthDataset.generate(SynthDataset.Config.of(root.resolve("data/download/videollava"), 8, 1));
    }

    /** A pretrain command line for run {@code id} of {@code steps} steps, plus {@code extra} flags. */
    private static List<String> argv(String id, int steps, String... extra) {
        List<String> a = new ArrayList<>(List.of("pretrain", "--model.type", "merv-tiny", "--stage", "finetune",
                "--dataset.dataset_root_dir", root.resolve("data").toString(),
                "--weights_root", root.resolve("weights").toString(), "--run_root_dir", root.resolve("runs").toString(),
                "--run_id", id, "--model.finetune_max_steps", Integer.toString(steps), "--devices", "cpu",
                "--seed", "3", "--loader_threads", "1", "--precision", "fp32", "--save_checkpoint_after", "2",
                "--keep_checkpoints", "3"));
        a.addAll(List.of(extra));
        return a;
    }

    private record Child(Process process, Path log) {
        String output() throws IOException {
            return Files.readString(log, StandardCharsets.UTF_8);
        }

        int finish() throws Exception {
            if (!process.waitFor(600, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("child did not finish:\n" + output());
            }
            return process.exitValue();
        }
    }

    private static Child launch(String name, List<String> args) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx2g", "-XX:TieredStopAtLevel=1", "-Dai.djl.offline=true",
                "-Dai.djl.default_engine=PyTorch", "-Dai.djl.pytorch.num_threads=1",
                "-Dai.djl.pytorch.num_interop_threads=1", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(args);
        Path log = root.resolve(name + ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("DJL_OFFLINE", "true");
        pb.environment().put("OPT_OUT_TRACKING", "true");
        pb.environment().put("PYTORCH_FLAVOR", "cpu");
        return new Child(pb.start(), log);
    }

    private static Path run(String id) {
        return root.resolve("runs").resolve(id);
    }

    private static List<JsonObject> metrics(String id) throws IOException {
        Path f = run(id).resolve("metrics.jsonl");
        if (!Files.exists(f)) {
            return List.of();
        }
        List<JsonObject> out = new ArrayList<>();
        for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
            try {
                out.add(JsonParser.parseString(line).getAsJsonObject());
            } catch (RuntimeException e) {
                // a line being written
            }
        }
        return out;
    }

    private static long lastStep(String id) throws IOException {
        return metrics(id).stream().filter(o -> !o.has("event")).mapToLong(o -> o.get("step").getAsLong()).max().orElse(0);
    }

    @Test
    void autoResumeStartsFreshThenSkipsADamagedCheckpointAndEndsBitwiseEqual() throws Exception {
        Child fresh = launch("fresh", argv("uninterrupted", STEPS, "--resume", "auto"));
        assertThat(fresh.finish()).as(fresh.output()).isZero();
        assertThat(fresh.output()).contains("starting fresh in " + run("uninterrupted") + " (no checkpoint yet)");
        JsonObject start = metrics("uninterrupted").get(0);
        assertThat(start.get("event").getAsString()).isEqualTo("start");
        assertThat(start.get("start").getAsString()).isEqualTo("fresh");
        assertThat(lastStep("uninterrupted")).isEqualTo(STEPS);

        Child first = launch("first", argv("cut", STEPS, "--stop_after_steps", "4"));
        assertThat(first.finish()).as(first.output()).isZero();
        Path latest = Checkpoints.latest(run("cut"));
        assertThat(latest.getFileName().toString()).startsWith("step-000004-");
        List<Path> cut = new ArrayList<>();
        try (Stream<Path> s = Files.list(latest)) {
            s.filter(p -> p.toString().endsWith(".safetensors")).forEach(cut::add);
        }
        assertThat(cut).hasSizeGreaterThanOrEqualTo(2);
        for (Path f : cut) {
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                ch.truncate(ch.size() / 2);
            }
        }

        Child again = launch("again", argv("cut", STEPS, "--resume", "auto"));
        assertThat(again.finish()).as(again.output()).isZero();
        String said = again.output();
        assertThat(said).contains("checkpoint " + latest + " is damaged, skipping it").contains("cut short");
        for (Path f : cut) {
            assertThat(said).contains(f.getFileName().toString());
        }
        assertThat(said).contains("resuming from " + run("cut").resolve("checkpoints")).contains("step-000002-");
        JsonObject resumed = metrics("cut").stream().filter(o -> o.has("event") && o.get("start").getAsString()
                .equals("resumed")).findFirst().orElseThrow();
        assertThat(resumed.get("step").getAsLong()).isEqualTo(2);
        assertThat(resumed.get("damaged_checkpoints").getAsJsonArray()).hasSize(cut.size());

        Path a = Checkpoints.latest(run("uninterrupted"));
        Path b = Checkpoints.latest(run("cut"));
        assertThat(b.getFileName()).isEqualTo(a.getFileName());
        for (String f : List.of("model.safetensors", "optimizer-rank-0-of-1.safetensors")) {
            assertThat(Files.mismatch(a.resolve(f), b.resolve(f))).as("%s differs from the uninterrupted run's", f)
                    .isEqualTo(-1L);
        }
        assertThat(Checkpoints.list(run("cut").resolve("checkpoints")))
                .allSatisfy(p -> assertThat(Checkpoints.verify(p)).isEmpty());
    }

    @Test
    void aSecondProcessOnABusyRunDirectoryIsRefusedWhileTheFirstKeepsTraining() throws Exception {
        int steps = 400;
        Child first = launch("busy-1", argv("busy", steps));
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
            while (lastStep("busy") < 1) {
                assertThat(first.process().isAlive()).as(first.output()).isTrue();
                assertThat(System.nanoTime()).as("the first run reached step 1").isLessThan(deadline);
                Thread.sleep(200);
            }
            long t0 = System.nanoTime();
            Child second = launch("busy-2", argv("busy", steps, "--resume", "auto"));
            int code = second.finish();
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertThat(code).as(second.output()).isEqualTo(3);
            assertThat(second.output()).contains("is in use by pid " + first.process().pid() + " on host");
            assertThat(seconds).as("refused within seconds (JVM start included)").isLessThan(60);

            long stepThen = lastStep("busy");
            while (lastStep("busy") <= stepThen) {
                assertThat(first.process().isAlive()).as("the first run keeps training:\n" + first.output()).isTrue();
                Thread.sleep(200);
            }
        } finally {
            first.process().destroyForcibly(); // kill -9: a preempted node
            first.process().waitFor(60, TimeUnit.SECONDS);
        }
        Child next = launch("busy-3", argv("busy", steps, "--resume", "auto", "--stop_after_steps", "1"));
        assertThat(next.finish()).as(next.output()).isZero();
        assertThat(next.output()).contains("taking over the lock left by pid " + first.process().pid());
    }
}
