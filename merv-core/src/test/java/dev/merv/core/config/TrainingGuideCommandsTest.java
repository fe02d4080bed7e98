package dev.merv.core.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every example command line of the training guide merv reproduces ({@code seed-training-guide.md},
 * copied into the test resources) parses into the config it describes. The shell lines are split
 * with quote removal and {@code $ID} expansion, as bash would hand them to the program.
 */
class TrainingGuideCommandsTest {

    static String guide() throws IOException {
        try (InputStream in = TrainingGuideCommandsTest.class.getResourceAsStream("/docs/seed-training-guide.md")) {
            assertThat(in).as("docs/seed-training-guide.md in test resources").isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** The program arguments of every {@code torchrun ... pretrain_video.py} block, after shell expansion. */
    static List<String[]> commands(String md) {
        List<String[]> out = new ArrayList<>();
        Matcher block = Pattern.compile("```sh\\n(.*?)```", Pattern.DOTALL).matcher(md);
        while (block.find()) {
            String text = block.group(1).replace("\\\n", " ");
            Map<String, String> vars = new HashMap<>();
            for (String line : text.split("\n")) {
                String l = line.trim();
                if (l.isEmpty() || l.startsWith("#")) {
                    continue;
                }
                List<String> words = shellWords(l, vars);
                if (words.size() == 1 && words.get(0).contains("=") && !words.get(0).startsWith("--")) {
                    String w = words.get(0);
                    vars.put(w.substring(0, w.indexOf('=')), w.substring(w.indexOf('=') + 1));
                    continue;
                }
                int script = words.indexOf("scripts/pretrain_video.py");
                if (script >= 0) {
                    out.add(words.subList(script + 1, words.size()).toArray(new String[0]));
                }
            }
        }
        return out;
    }

    /** POSIX-like word splitting: single quotes literal, double quotes with $VAR, bare $VAR expanded. */
    static List<String> shellWords(String line, Map<String, String> vars) {
        List<String> words = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean inWord = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '\'') {
                int end = line.indexOf('\'', i + 1);
                cur.append(line, i + 1, end);
                i = end;
                inWord = true;
            } else if (c == '"') {
                int end = line.indexOf('"', i + 1);
                cur.append(expand(line.substring(i + 1, end), vars));
                i = end;
                inWord = true;
            } else if (Character.isWhitespace(c)) {
                if (inWord) {
                    words.add(cur.toString());
                    cur.setLength(0);
                    inWord = false;
                }
            } else if (c == '$') {
                int j = i + 1;
                while (j < line.length() && (Character.isLetterOrDigit(line.charAt(j)) || line.charAt(j) == '_')) {
                    j++;
                }
                cur.append(vars.getOrDefault(line.substring(i + 1, j), ""));
                i = j - 1;
                inWord = true;
            } else {
                cur.append(c);
                inWord = true;
            }
        }
        if (inWord) {
            words.add(cur.toString());
        }
        return words;
    }

    private static String expand(String s, Map<String, String> vars) {
        Matcher m = Pattern.compile("\\$([A-Za-z_][A-Za-z0-9_]*)").matcher(s);
        StringBuilder b = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(b, Matcher.quoteReplacement(vars.getOrDefault(m.group(1), "")));
        }
        m.appendTail(b);
        return b.toString();
    }

    @Test
    void everyGuideCommandParsesIntoTheConfigItDescribes() throws IOException {
        List<String[]> cmds = commands(guide());
        assertThat(cmds).as("torchrun commands in the guide").hasSize(4);
        ModelConfig base = ModelRegistry.get("merv-base");

        // 1. reproduction: merv-base, finetune, the run id doubles as model id
        PretrainConfig c1 = ConfigCli.parse(cmds.get(0));
        assertThat(c1.runId()).isEqualTo("merv-run");
        assertThat(c1.stage()).isEqualTo(Stage.FINETUNE);
        assertThat(c1.dataset()).isEqualTo(DatasetConfig.videollava());
        assertThat(c1.model()).isEqualTo(base.with("model_id", "merv-run"));
        assertThat(c1.train().learningRate()).isEqualTo(2e-5);
        assertThat(c1.runDir().toString()).isEqualTo("runs/merv-run");

        // 2. "merv-novel": Hiera instead of ViViT, 16 tokens per frame, 256 visual tokens
        PretrainConfig c2 = ConfigCli.parse(cmds.get(1));
        assertThat(c2.runId()).isEqualTo("merv-novel");
        assertThat(c2.model().videoBackboneIds()).containsExactly("languagebind-video-noclass",
                "dinov2-video-all-tokens", "hiera-base-plus-video", "siglip-vit-b16-224px-all-no-cls");
        assertThat(c2.model().numFrames()).containsExactly(16, 16, 32, 16);
        assertThat(c2.model().projectorTokenLength()).isEqualTo(16);
        assertThat(c2.model().visualFeatureLength()).isEqualTo(256);
        assertThat(c2.model()).isEqualTo(base.with("model_id", "merv-novel")
                .with("video_backbone_ids", "[languagebind-video-noclass,dinov2-video-all-tokens,hiera-base-plus-video,"
                        + "siglip-vit-b16-224px-all-no-cls]")
                .with("projector_token_length", "16").with("visual_feature_length", "256"));

        // 3. Qwen2.5 with per-device batch 2 (accumulation 128/2/8 = 8 on 8 GPUs)
        PretrainConfig c3 = ConfigCli.parse(cmds.get(2));
        assertThat(c3.runId()).isEqualTo("merv-run-qwen2.5");
        assertThat(c3.model()).isEqualTo(base.with("model_id", "merv-run-qwen2.5")
                .with("llm_backbone_id", "qwen2.5-7b-instruct").with("finetune_per_device_batch_size", "2"));
        assertThat(c3.train().gradAccumulationSteps(8)).isEqualTo(8);

        // 4. Llama-3.1 with per-device batch 4 (accumulation 4 on 8 GPUs)
        PretrainConfig c4 = ConfigCli.parse(cmds.get(3));
        assertThat(c4.model()).isEqualTo(base.with("model_id", "merv-run-llama3.1")
                .with("llm_backbone_id", "llama3.1-8b-chat").with("finetune_per_device_batch_size", "4"));
        assertThat(c4.train().gradAccumulationSteps(8)).isEqualTo(4);

        for (String[] cmd : cmds) {
            PretrainConfig c = ConfigCli.parse(cmd);
            assertThat(ConfigJson.parse(ConfigJson.dump(c))).isEqualTo(c);
        }
    }
}
