package dev.merv.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link LoraConfig}: defaults, scaling, the {@code --lora.*} flags, and refusals naming the field. */
class LoraConfigTest {

    private static Map<String, String> flags(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    @Test
    void defaultsAreEveryLinearLayerNoDropoutAlphaOverR() {
        LoraConfig c = LoraConfig.of(128, 256);
        assertThat(c.targets()).containsExactly("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");
        assertThat(c.dropout()).isZero();
        assertThat(c.rslora()).isFalse();
        assertThat(c.scaling()).isEqualTo(2.0);
        assertThat(c.withRslora(true).scaling()).isEqualTo(256 / Math.sqrt(128));
        assertThat(LoraConfig.fromFlags(flags("r", "128", "alpha", "256"))).isEqualTo(c);
    }

    @Test
    void flagsSetEveryField() {
        LoraConfig c = LoraConfig.fromFlags(flags("r", "8", "alpha", "16", "dropout", "0.05", "targets", "['q_proj', v_proj]",
                "rslora", "true"));
        assertThat(c).isEqualTo(new LoraConfig(8, 16, 0.05, List.of("q_proj", "v_proj"), true));
        assertThat(c.toString()).isEqualTo("LoRA r=8 alpha=16 (rsLoRA) dropout=0.05 on [q_proj, v_proj]");
    }

    @Test
    void refusalsNameTheFieldAndTheFix() {
        assertThatThrownBy(() -> LoraConfig.fromFlags(flags("r", "8", "alpha", "16", "targets", "[q_proj,lm_head,qkv]")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("lora.targets [lm_head, qkv]")
                .hasMessageContaining("[q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj]");
        assertThatThrownBy(() -> LoraConfig.fromFlags(flags("r", "8"))).hasMessageContaining("--lora.alpha");
        assertThatThrownBy(() -> LoraConfig.fromFlags(flags("alpha", "8"))).hasMessageContaining("--lora.r");
        assertThatThrownBy(() -> LoraConfig.fromFlags(flags("r", "8", "alpha", "16", "rank", "4")))
                .hasMessageContaining("--lora.rank").hasMessageContaining("[r, alpha, dropout, targets, rslora]");
        assertThatThrownBy(() -> LoraConfig.fromFlags(flags("r", "eight", "alpha", "16"))).hasMessageContaining("lora.r");
        assertThatThrownBy(() -> LoraConfig.of(0, 16)).hasMessageContaining("lora.r=0");
        assertThatThrownBy(() -> LoraConfig.of(8, -1)).hasMessageContaining("lora.alpha");
        assertThatThrownBy(() -> LoraConfig.of(8, 16).withDropout(1.0)).hasMessageContaining("lora.dropout=1.0");
        assertThatThrownBy(() -> LoraConfig.of(8, 16).withTargets(List.of())).hasMessageContaining("lora.targets is empty");
        assertThatThrownBy(() -> LoraConfig.of(8, 16).withTargets(List.of("q_proj", "q_proj"))).hasMessageContaining("twice");
    }
}
