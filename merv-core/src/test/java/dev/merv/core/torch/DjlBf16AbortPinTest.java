package dev.merv.core.torch;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins the reason the bridge exists: DJL 0.36's JNI on libtorch 2.7.1 (the engine merv builds with:
 * {@code pytorch-native-cpu} 2.7.1 from Maven Central) aborts the whole JVM when a bf16 dtype reaches
 * it ({@code toType(BFLOAT16)}, {@code softmax} on a bf16 tensor). Each case runs in a child JVM. When
 * a DJL upgrade makes either call survive, this test fails so that the rule in {@link Torch}'s javadoc
 * is revisited rather than silently kept or silently broken.
 *
 * <p>The abort is a property of that pairing: DJL's JNI rebuilt against another libtorch (the GPU kit,
 * docs/gpus.md) survives both calls, so the test is skipped, with that reason, on any other libtorch.
 */
class DjlBf16AbortPinTest {

    static final String CALLING = "merv-probe: calling DJL";
    static final String SURVIVED = "merv-probe: DJL call returned";

    /** Child JVM entry point: runs one DJL call on bf16 that is expected to abort. */
    public static void main(String[] args) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(new float[] {1f, 2f, 3f});
            String result;
            System.out.println(CALLING + " " + args[0]);
            System.out.flush();
            switch (args[0]) {
                case "toTypeBf16":
                    result = String.valueOf(x.toType(DataType.BFLOAT16, true).getShape());
                    break;
                case "softmaxOnBf16":
                    result = String.valueOf(Torch.to(x, ScalarType.BFLOAT16).softmax(-1).getShape());
                    break;
                default:
                    throw new IllegalArgumentException(args[0]);
            }
            System.out.println(SURVIVED + " " + result);
        } catch (RuntimeException e) {
            System.out.println(SURVIVED + " with a Java exception: " + e);
        }
        System.exit(0);
    }

    @Test
    void djlStillAbortsTheJvmOnBf16Dtypes(@TempDir Path tmp) throws Exception {
        Assumptions.assumeTrue(Torch.libtorchVersion().equals("2.7.1"), "pins DJL 0.36 on libtorch 2.7.1 (the Maven"
                + " Central engine); this run's libtorch is " + Torch.libtorchVersion() + " (" + Torch.library() + ")");
        List<Process> children = new ArrayList<>();
        List<Path> logs = new ArrayList<>();
        List<String> cases = List.of("toTypeBf16", "softmaxOnBf16");
        for (String c : cases) {
            Path log = tmp.resolve(c + ".log");
            logs.add(log);
            children.add(child(c, log));
        }
        for (int i = 0; i < cases.size(); i++) {
            Process p = children.get(i);
            boolean done = p.waitFor(120, TimeUnit.SECONDS);
            if (!done) {
                p.destroyForcibly();
            }
            String out = Files.readString(logs.get(i), StandardCharsets.UTF_8);
            assertThat(done).as("child %s finished", cases.get(i)).isTrue();
            assertThat(out).as("child %s reached the DJL call:%n%s", cases.get(i), out).contains(CALLING);
            assertThat(out).as("DJL %s no longer aborts on bf16: revisit the bf16 rule in Torch and docs/torch-bridge.md:%n%s",
                    cases.get(i), out).doesNotContain(SURVIVED);
            assertThat(p.exitValue()).as("exit status of child %s (134 = SIGABRT)%n%s", cases.get(i), out).isEqualTo(134);
        }
    }

    private static Process child(String which, Path log) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
                "-Dai.djl.offline=true", "-Dai.djl.default_engine=PyTorch", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-cp", System.getProperty("java.class.path"), DjlBf16AbortPinTest.class.getName(), which));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = pb.environment();
        env.put("DJL_OFFLINE", "true");
        env.put("OPT_OUT_TRACKING", "true");
        env.put("PYTORCH_FLAVOR", "cpu");
        return pb.start();
    }
}
