package dev.merv.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merv.core.config.ConfigException;
import dev.merv.core.model.Precision;
import dev.merv.core.torch.ScalarType;
import org.junit.jupiter.api.Test;

/** Model options that change how training runs reach the trainer, or are refused, before any weight is read. */
class TrainingOptionsTest {

    @Test
    void reduceInFullPrecisionReachesTheTrainer() {
        Training byDefault = Training.builder("merv-tiny").precision(Precision.BF16).build();
        assertThat(byDefault.trainConfig().reduceInFullPrecision).as("the reference's default").isFalse();
        assertThat(byDefault.trainConfig().reduceType()).isEqualTo(ScalarType.BFLOAT16);
        Training full = Training.builder("merv-tiny").precision(Precision.BF16).model("reduce_in_full_precision", true).build();
        assertThat(full.trainConfig().reduceInFullPrecision).isTrue();
        assertThat(full.trainConfig().reduceType()).isEqualTo(ScalarType.FLOAT32);
        assertThat(Training.builder("merv-tiny").precision(Precision.FP32).build().trainConfig().reduceType())
                .as("fp32 compute has nothing to reduce in half precision").isEqualTo(ScalarType.FLOAT32);
    }

    @Test
    void fullShardOnSeveralReplicasIsRefusedNamingTheField() {
        assertThatThrownBy(() -> Training.builder("merv-tiny").model("finetune_train_strategy", "fsdp-full-shard")
                .devices("cpu:2").build()).isInstanceOf(ConfigException.class)
                .hasMessageContaining("model.finetune_train_strategy='fsdp-full-shard' on 2 replicas")
                .hasMessageContaining("fsdp-shard-grad-op");
        // one replica: nothing to shard, the two strategies are the same run
        Training.builder("merv-tiny").model("finetune_train_strategy", "fsdp-full-shard").devices("cpu").build();
        // ZeRO-2 on several replicas is what merv does
        Training.builder("merv-tiny").model("finetune_train_strategy", "fsdp-shard-grad-op").devices("cpu:2").build();
        assertThatThrownBy(() -> Training.builder("merv-full").devices("cpu:2").stage(dev.merv.core.config.Stage.ALIGN)
                .build()).hasMessageContaining("model.align_train_strategy='fsdp-full-shard'");
    }
}
