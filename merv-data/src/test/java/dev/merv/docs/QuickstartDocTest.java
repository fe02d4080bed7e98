package dev.merv.docs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/java-api.md's quickstart, as a user runs it: the {@code java} block is compiled on its own against the
 * library's runtime classpath only (merv-core, merv-encoders, merv-llm, merv-data and what they bring; no test
 * dependencies, no merv-examples, no logging binding) and run in a fresh JVM, which must print the contract
 * line with a falling loss.
 */
class QuickstartDocTest {

    private static final Pattern LAST = Pattern.compile(
            "library: trained (\\d+) steps, loss ([0-9.]+) -> ([0-9.]+), answer \"(.*)\"");

    @Test
    void theQuickstartCompilesAgainstTheLibraryAloneAndLearns(@TempDir Path tmp) throws Exception {
        Path module = Path.of(System.getProperty("user.dir"));
        Path doc = module.resolveSibling("docs").resolve("java-api.md");
        String source = quickstartBlock(Files.readString(doc, StandardCharsets.UTF_8));

        Path src = tmp.resolve("src/LibraryQuickstart.java");
        Files.createDirectories(src.getParent());
        Files.writeString(src, source, StandardCharsets.UTF_8);
        Path classes = Files.createDirectories(tmp.resolve("classes"));
        String libraryClasspath = module.resolve("target/classes") + File.pathSeparator
                + Files.readString(module.resolve("target/consumer.classpath"), StandardCharsets.UTF_8).trim();
        assertThat(libraryClasspath).doesNotContain("merv-examples").doesNotContain("junit").doesNotContain("slf4j-simple");

        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        java.io.ByteArrayOutputStream diagnostics = new java.io.ByteArrayOutputStream();
        int rc = javac.run(null, diagnostics, diagnostics, "-classpath", libraryClasspath, "-d", classes.toString(),
                src.toString());
        assertThat(rc).as("javac of the quickstart block:%n%s", diagnostics).isZero();

        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        // the quickstart writes into a temp dir of its own: here, under the test's, which JUnit removes
        Path scratch = Files.createDirectories(tmp.resolve("java-tmp"));
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "-Xmx4g", "-Dai.djl.offline=true",
                "-Djava.io.tmpdir=" + scratch,
                "-Dai.djl.pytorch.num_threads=" + System.getProperty("ai.djl.pytorch.num_threads", "1"),
                "-cp", classes + File.pathSeparator + libraryClasspath, "LibraryQuickstart"));
        Path log = tmp.resolve("quickstart.log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean done = p.waitFor(15, TimeUnit.MINUTES);
        String out = Files.readString(log, StandardCharsets.UTF_8);
        if (!done) {
            p.destroyForcibly();
        }
        assertThat(done).as("the quickstart finished; output so far:%n%s", out).isTrue();
        assertThat(p.exitValue()).as("exit code; output:%n%s", out).isZero();
        String[] lines = out.strip().split("\\R");
        String last = lines[lines.length - 1];
        Matcher m = LAST.matcher(last);
        assertThat(m.matches()).as("last line '%s'", last).isTrue();
        System.out.println("quickstart: " + last);
        assertThat(Integer.parseInt(m.group(1))).isEqualTo(20);
        double l0 = Double.parseDouble(m.group(2));
        double l1 = Double.parseDouble(m.group(3));
        assertThat(l1).as("mean loss of the last steps below the first").isLessThan(l0);
    }

    /** The ```java block that declares {@code public final class LibraryQuickstart}. */
    static String quickstartBlock(String markdown) {
        Matcher m = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(markdown);
        while (m.find()) {
            if (m.group(1).contains("public final class LibraryQuickstart")) {
                return m.group(1);
            }
        }
        throw new AssertionError("docs/java-api.md has no ```java block declaring public final class LibraryQuickstart");
    }
}
