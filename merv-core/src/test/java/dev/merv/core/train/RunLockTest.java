package dev.merv.core.train;

import dev.merv.core.testing.standin.TinyLm;
import dev.merv.core.testing.standin.TinyBatch;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One writer per run directory: a second holder is refused naming the first (pid, host), in this JVM and from
 * another process; a lock left by a process killed with {@code kill -9} is taken over; a second trainer is
 * refused before it builds anything while the first keeps training.
 */
class RunLockTest {

    static final String LOCKED = "merv-lock-probe: locked";

    @TempDir
    Path root;

    /** Child JVM: locks {@code args[0]} and waits to be killed. */
    public static void main(String[] args) throws Exception {
        RunLock lock = RunLock.acquire(Path.of(args[0]), System.err);
        System.out.println(LOCKED + " " + ProcessHandle.current().pid());
        System.out.flush();
        Thread.sleep(600_000);
        lock.close();
    }

    @Test
    void aSecondHolderInThisProcessIsRefusedUntilTheFirstCloses() throws Exception {
        Path run = root.resolve("run");
        RunLock first = RunLock.acquire(run, System.err);
        assertThat(Files.readString(run.resolve(RunLock.FILE))).contains("\"pid\":" + ProcessHandle.current().pid())
                .contains("\"host\":\"" + RunLock.host() + "\"");
        assertThatThrownBy(() -> RunLock.acquire(run, System.err)).isInstanceOf(RunDirectoryBusyException.class)
                .hasMessageContaining("pid " + ProcessHandle.current().pid()).hasMessageContaining("--run_id");
        first.close();
        assertThat(Files.readString(run.resolve(RunLock.FILE))).as("a clean release leaves no name behind").isEmpty();
        ByteArrayOutputStream said = new ByteArrayOutputStream();
        try (RunLock again = RunLock.acquire(run, new PrintStream(said, true, StandardCharsets.UTF_8))) {
            assertThat(said.toString(StandardCharsets.UTF_8)).isEmpty();
        }
    }

    @Test
    void aLockOfAnotherProcessIsRefusedAndTakenOverAfterItIsKilled() throws Exception {
        Path run = root.resolve("shared");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-Xmx64m", "-cp", System.getProperty("java.class.path"),
                RunLockTest.class.getName(), run.toString()).redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            String line = out.readLine();
            assertThat(line).as("the child took the lock").startsWith(LOCKED);
            long childPid = child.pid();

            long t0 = System.nanoTime();
            assertThatThrownBy(() -> RunLock.acquire(run, System.err)).isInstanceOf(RunDirectoryBusyException.class)
                    .hasMessageContaining("pid " + childPid + " on host " + RunLock.host());
            assertThat((System.nanoTime() - t0) / 1e9).as("refused at once").isLessThan(5);

            child.destroyForcibly(); // SIGKILL: the child cannot release anything itself
            assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
            ByteArrayOutputStream said = new ByteArrayOutputStream();
            try (RunLock taken = RunLock.acquire(run, new PrintStream(said, true, StandardCharsets.UTF_8))) {
                assertThat(said.toString(StandardCharsets.UTF_8)).contains("taking over the lock left by pid " + childPid)
                        .contains("no longer running");
                assertThat(Files.readString(run.resolve(RunLock.FILE))).contains("\"pid\":" + ProcessHandle.current().pid());
            }
        } finally {
            child.destroyForcibly();
        }
    }

    @Test
    void aSecondTrainerIsRefusedBeforeBuildingWhileTheFirstKeepsTraining() {
        TrainConfig c = TrainerTesting.config(root, "busy", 12, 12, "cpu", 6);
        AtomicInteger built = new AtomicInteger();
        try (Trainer<TinyBatch> first = TrainerTesting.trainer(c, TrainerTesting.source())) {
            first.onStep(r -> {
                if (r.step() == 3) {
                    TrainConfig same = TrainerTesting.config(root, "busy", 12, 12, "cpu", 6);
                    assertThatThrownBy(() -> new Trainer<TinyBatch>(same, (rank, d, m) -> {
                        built.incrementAndGet();
                        return new TinyLm(4, 4, 1, 1, 4).init(0, m);
                    }, TrainerTesting.source(), null)).isInstanceOf(RunDirectoryBusyException.class);
                }
            });
            List<StepRecord> h = first.run();
            assertThat(h).hasSize(6);
        }
        assertThat(built.get()).as("the refused trainer built no model").isZero();
        assertThat(Checkpoints.latest(root.resolve("busy")).getFileName().toString()).startsWith("step-000006-");
    }
}
