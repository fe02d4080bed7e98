package dev.merv.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merv.core.config.ModelConfig;
import dev.merv.core.config.PretrainConfig;
import dev.merv.core.config.Stage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The launcher's argument handling: the training guide's four command lines as bash hands them over,
 * {@code --help} of every command, usage errors (exit 2) before anything heavy happens.
 */
class LauncherArgsTest {

    private static final List<String> MERV_BASE_ENCODERS = List.of("languagebind-video-noclass", "dinov2-video-all-tokens",
            "vivit-google-b-all-no-cls-16frames", "siglip-vit-b16-224px-all-no-cls");

    /**
     * The guide's four scripts (docs/seed-training-guide.md), the {@code torchrun ... pretrain_video.py} prefix
     * dropped and {@code $ID} expanded, verbatim otherwise (quotes and line continuations included).
     */
    static Stream<Arguments> guide() {
        return Stream.of(
                Arguments.of("merv-run", """
                          --run_id merv-run \\
                          --model.model_id merv-run \\
                          --model.type "merv-base" \\
                          --dataset.type "videollava" \\
                          --stage finetune\s
                        """,
                        new Expected(MERV_BASE_ENCODERS, List.of(16, 16, 32, 16), 64, 1024, "llama2-7b-pure", 8)),
                Arguments.of("merv-novel", """
                          --run_id merv-novel \\
                          --model.model_id merv-novel \\
                          --model.type "merv-base" \\
                          --model.video_backbone_ids ['languagebind-video-noclass','dinov2-video-all-tokens','hiera-base-plus-video','siglip-vit-b16-224px-all-no-cls'] \\
                          --model.num_frames [16,16,32,16] \\
                          --model.projector_token_length 16 \\
                          --model.visual_feature_length 256 \\
                          --dataset.type "videollava" \\
                          --stage finetune\s
                        """,
                        new Expected(List.of("languagebind-video-noclass", "dinov2-video-all-tokens", "hiera-base-plus-video",
                                "siglip-vit-b16-224px-all-no-cls"), List.of(16, 16, 32, 16), 16, 256, "llama2-7b-pure", 8)),
                Arguments.of("merv-run-qwen2.5", """
                          --run_id merv-run-qwen2.5 \\
                          --model.model_id merv-run-qwen2.5 \\
                          --model.finetune_per_device_batch_size 2 \\
                          --model.llm_backbone_id "qwen2.5-7b-instruct" \\
                          --model.type "merv-base" \\
                          --dataset.type "videollava" \\
                          --stage finetune\s
                        """,
                        new Expected(MERV_BASE_ENCODERS, List.of(16, 16, 32, 16), 64, 1024, "qwen2.5-7b-instruct", 2)),
                Arguments.of("merv-run-llama3.1", """
                          --run_id merv-run-llama3.1 \\
                          --model.model_id merv-run-llama3.1 \\
                          --model.llm_backbone_id "llama3.1-8b-chat" \\
                          --model.finetune_per_device_batch_size 4 \\
                          --model.type "merv-base" \\
                          --dataset.type "videollava" \\
                          --stage finetune\s
                        """,
                        new Expected(MERV_BASE_ENCODERS, List.of(16, 16, 32, 16), 64, 1024, "llama3.1-8b-chat", 4)));
    }

    record Expected(List<String> encoders, List<Integer> frames, int projectorTokens, int visualLength, String llm,
            int perDeviceBatch) {}

    @ParameterizedTest(name = "[{0}]")
    @MethodSource("guide")
    void trainingGuideCommandLinesParseToTheConfigTheyDescribe(String id, String script, Expected e) {
        PretrainConfig c = PretrainCommand.parse(shellSplit(script).toArray(String[]::new)).config();
        ModelConfig m = c.model();
        assertThat(c.runId()).isEqualTo(id);
        assertThat(c.resolvedRunId()).isEqualTo(id);
        assertThat(m.modelId()).isEqualTo(id);
        assertThat(m.type()).isEqualTo("merv-base");
        assertThat(c.dataset().type()).isEqualTo("videollava");
        assertThat(c.stage()).isEqualTo(Stage.FINETUNE);
        assertThat(m.videoBackboneIds()).containsExactlyElementsOf(e.encoders());
        assertThat(m.numFrames()).containsExactlyElementsOf(e.frames());
        assertThat(m.projectorTokenLength()).isEqualTo(e.projectorTokens());
        assertThat(m.visualFeatureLength()).isEqualTo(e.visualLength());
        assertThat(m.llmBackboneId()).isEqualTo(e.llm());
        assertThat(m.finetunePerDeviceBatchSize()).isEqualTo(e.perDeviceBatch());
        assertThat(c.train().perDeviceBatchSize()).isEqualTo(e.perDeviceBatch());
        assertThat(m.finetuneGlobalBatchSize()).isEqualTo(128);
        // data under data/download/videollava by default (the guide's layout)
        assertThat(c.dataset().datasetRootDir().resolve(c.dataset().components(c.stage()).get(0)).normalize().toString()
                .replace('\\', '/')).startsWith("data/download/videollava/");
        assertThat(c.runDir()).isEqualTo(Path.of("runs", id));
    }

    @Test
    void theShellSplitterDropsTheQuotesInsideBracketsAsBashDoes() {
        assertThat(shellSplit("--a ['x','y'] --b \"merv-base\" \\\n --c=[1,2]"))
                .containsExactly("--a", "[x,y]", "--b", "merv-base", "--c=[1,2]");
    }

    @Test
    void everyCommandHasHelpThatExitsZeroAndPrintsUsage() {
        Map<String, Main.Command> cmds = Main.commands();
        assertThat(cmds.keySet()).contains("demo", "pretrain", "generate", "eval-mcq", "data synth", "data check", "plot",
                "tiny-weights");
        for (String name : cmds.keySet()) {
            List<String> argv = new ArrayList<>(List.of(name.split(" ")));
            argv.add("--help");
            Launch r = Launch.run(argv.toArray(String[]::new));
            assertThat(r.code()).as("%s --help", name).isZero();
            assertThat(r.out()).as("%s --help", name).contains("usage: ./merv " + name).contains(cmds.get(name).usage());
        }
        Launch top = Launch.run("--help");
        assertThat(top.code()).isZero();
        assertThat(top.out()).contains("usage: ./merv <command>");
        cmds.keySet().forEach(n -> assertThat(top.out()).contains(n));
        assertThat(Launch.run().code()).as("no command at all is a usage error").isEqualTo(2);
    }

    @Test
    void pretrainHelpListsTheReferenceFlags() {
        Launch r = Launch.run("pretrain", "--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("--model.video_backbone_ids", "--model.num_frames", "--model.projector_token_length",
                "--model.visual_feature_length", "--model.finetune_per_device_batch_size", "--weights_root", "--devices");
    }

    @Test
    void anUnknownCommandExitsTwoAndListsTheCommands() {
        Launch r = Launch.run("pretrian", "--model.type", "merv-base");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("unknown command 'pretrian'").contains("pretrain").contains("eval-mcq");
        Launch d = Launch.run("data", "chekc", "--root", "x");
        assertThat(d.code()).isEqualTo(2);
        assertThat(d.err()).contains("unknown command 'data chekc'");
    }

    @Test
    void aBadFlagFailsNamingTheFieldBeforeAnyWeightIsRead(@TempDir Path tmp) {
        Path noWeights = tmp.resolve("no-such-weights");
        Path noData = tmp.resolve("no-such-data");
        Launch r = Launch.run("pretrain", "--model.type", "merv-base", "--stage", "finetune",
                "--model.projector_token_length", "15", "--weights_root", noWeights.toString(),
                "--dataset.dataset_root_dir", noData.toString(), "--run_root_dir", tmp.resolve("runs").toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("projector_token_length").contains("15");
        // had it got as far as weights or data, it would have complained about those instead
        assertThat(r.err()).doesNotContain("weights for backbone").doesNotContain("does not exist");
        assertThat(noWeights).doesNotExist();
        assertThat(tmp.resolve("runs")).doesNotExist();
    }

    @Test
    void configProblemsAreAllReportedByParseWithoutTouchingWeights() {
        assertThatThrownBy(() -> PretrainCommand.parse("--model.type", "merv-base", "--model.num_frames", "[16,16,32]",
                "--weights_root", "/no/such/dir"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("model.num_frames");
        assertThatThrownBy(() -> PretrainCommand.parse("--model.type", "merv-nope"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("model.type").hasMessageContaining("merv-base");
        assertThatThrownBy(() -> PretrainCommand.parse("--model.type", "merv-base", "--model.no_such_field", "3"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no_such_field");
        assertThatThrownBy(() -> PretrainCommand.parse("--model.type", "merv-base", "--weights.not-a-backbone", "/x"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not-a-backbone");
    }

    @Test
    void pretrainsOwnFlagsAreParsed() {
        dev.merv.train.Training inv = PretrainCommand.parse("--model.type", "merv-tiny", "--weights_root", "/w", "--precision", "fp32",
                "--recompute", "true", "--loader_threads", "3", "--stop_after_steps", "7", "--devices", "cpu",
                "--weights.llama2-tiny-pure", "/llm");
        assertThat(inv.weights().root()).isEqualTo(Path.of("/w"));
        assertThat(inv.weights().explicit()).containsEntry("llama2-tiny-pure", Path.of("/llm"));
        assertThat(inv.precision()).isEqualTo(dev.merv.core.model.Precision.FP32);
        assertThat(inv.recompute()).isTrue();
        assertThat(inv.loaderThreads()).isEqualTo(3);
        assertThat(inv.stopAfterSteps()).isEqualTo(7);
        assertThat(inv.config().devices()).isEqualTo("cpu");
        // backbone ids keep their dashes and dots even though the flag splitter normalises names
        dev.merv.train.Training qwen = PretrainCommand.parse("--model.type", "merv-base", "--model.llm_backbone_id", "qwen2.5-7b-instruct",
                "--weights.qwen2.5-7b-instruct", "/q", "--weights.siglip-vit-b16-224px-all-no-cls=/s");
        assertThat(qwen.weights().explicit()).containsEntry("qwen2.5-7b-instruct", Path.of("/q"))
                .containsEntry("siglip-vit-b16-224px-all-no-cls", Path.of("/s"));
    }

    @Test
    void generateNeedsRunAndPrompt(@TempDir Path tmp) {
        Launch noRun = Launch.run("generate", "--prompt", "hi");
        assertThat(noRun.code()).isEqualTo(2);
        assertThat(noRun.err()).contains("--run is required").contains("usage: ./merv generate");
        Launch noPrompt = Launch.run("generate", "--run", tmp.toString());
        assertThat(noPrompt.code()).isEqualTo(2);
        assertThat(noPrompt.err()).contains("--prompt is required");
        Launch unknown = Launch.run("generate", "--run", tmp.toString(), "--prompt", "hi", "--max_tokens", "3");
        assertThat(unknown.code()).isEqualTo(2);
        assertThat(unknown.err()).contains("unknown flag --max_tokens").contains("--max_new_tokens");
        Launch dangling = Launch.run("generate", "--run", tmp.toString(), "--prompt");
        assertThat(dangling.code()).isEqualTo(2);
        assertThat(dangling.err()).contains("--prompt needs a value");
        Launch notARun = Launch.run("generate", "--run", tmp.toString(), "--prompt", "hi");
        assertThat(notARun.code()).as("a directory that is no run").isEqualTo(2);
        assertThat(notARun.err()).contains("config.json");
    }

    @Test
    void evalMcqNeedsRunAndBenchmark(@TempDir Path tmp) {
        Launch noBench = Launch.run("eval-mcq", "--run", tmp.toString());
        assertThat(noBench.code()).isEqualTo(2);
        assertThat(noBench.err()).contains("--benchmark is required").contains("usage: ./merv eval-mcq");
        Launch noRun = Launch.run("eval-mcq", "--benchmark", tmp.toString());
        assertThat(noRun.code()).isEqualTo(2);
        assertThat(noRun.err()).contains("--run is required");
    }

    @Test
    void dataCheckNeedsRootAndJson(@TempDir Path tmp) {
        Launch noJson = Launch.run("data", "check", "--root", tmp.toString());
        assertThat(noJson.code()).isEqualTo(2);
        assertThat(noJson.err()).contains("--json is required");
        Launch bad = Launch.run("data", "check", "--root", tmp.toString(), "--json", tmp.resolve("r.json").toString(),
                "--colour", "red");
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.err()).contains("unknown flag --colour");
        assertThat(tmp.resolve("r.json")).doesNotExist();
    }

    @Test
    void dataCheckExitsOneWhenTheDatasetCannotBeRead(@TempDir Path tmp) throws Exception {
        Path notArray = tmp.resolve("broken");
        Files.createDirectories(notArray);
        Files.writeString(notArray.resolve(dev.merv.data.videollava.DatasetRegistry.FINETUNE_JSON), "{\"not\": \"an array\"}");
        Launch r = Launch.run("data", "check", "--root", notArray.toString(), "--json", tmp.resolve("r.json").toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("cannot scan").contains(notArray.toString());
        assertThat(tmp.resolve("r.json")).doesNotExist();
    }

    @Test
    void plotNeedsARunDirectory(@TempDir Path tmp) throws Exception {
        Launch noRun = Launch.run("plot");
        assertThat(noRun.code()).isEqualTo(2);
        assertThat(noRun.err()).contains("--run is required").contains("usage: ./merv plot");
        Launch empty = Launch.run("plot", "--run", tmp.toString());
        assertThat(empty.code()).isEqualTo(2);
        assertThat(empty.err()).contains("metrics.jsonl");
        Files.writeString(tmp.resolve("metrics.jsonl"), "");
        Launch nothing = Launch.run("plot", "--run", tmp.toString());
        assertThat(nothing.code()).isEqualTo(1);
        assertThat(nothing.err()).contains("no plottable metrics");
    }

    @Test
    void dataSynthAndTinyWeightsNeedOut() {
        Launch synth = Launch.run("data", "synth", "--videos", "2");
        assertThat(synth.code()).isEqualTo(2);
        assertThat(synth.err()).contains("--out is required");
        Launch tiny = Launch.run("tiny-weights", "--seed", "1");
        assertThat(tiny.code()).isEqualTo(2);
        assertThat(tiny.err()).contains("--out is required");
    }

    /** Word splitting as bash does it for these scripts: blanks, '...', "...", backslash-newline continuations. */
    static List<String> shellSplit(String script) {
        List<String> words = new ArrayList<>();
        StringBuilder w = new StringBuilder();
        boolean inWord = false;
        for (int i = 0; i < script.length(); i++) {
            char ch = script.charAt(i);
            if (ch == '\\' && i + 1 < script.length() && script.charAt(i + 1) == '\n') {
                i++;
            } else if (ch == '\\' && i + 1 < script.length()) {
                w.append(script.charAt(++i));
                inWord = true;
            } else if (ch == '\'' || ch == '"') {
                int end = script.indexOf(ch, i + 1);
                if (end < 0) {
                    throw new IllegalArgumentException("unclosed quote in " + script);
                }
                w.append(script, i + 1, end);
                i = end;
                inWord = true;
            } else if (Character.isWhitespace(ch)) {
                if (inWord) {
                    words.add(w.toString());
                    w.setLength(0);
                    inWord = false;
                }
            } else {
                w.append(ch);
                inWord = true;
            }
        }
        if (inWord) {
            words.add(w.toString());
        }
        return words;
    }
}
