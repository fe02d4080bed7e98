package dev.merv.core.train;

import dev.merv.core.testing.standin.TinyBatch;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the trainer hands out stays usable only while it is open, and says so afterwards. */
class TrainerLifecycleTest {

    @Test
    void aModelAskedForAfterCloseFailsSayingWhatToDoInstead(@TempDir Path root) {
        TrainConfig c = TrainerTesting.config(root, "life", 4, 4, "cpu", 1);
        Trainer<TinyBatch> t = TrainerTesting.trainer(c, TrainerTesting.source());
        t.run();
        assertThat(t.model(0).parameters()).isNotEmpty();
        t.close();
        t.close(); // closing twice is harmless
        assertThatThrownBy(() -> t.model(0)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("trainer is closed").hasMessageContaining(root.resolve("life").resolve("checkpoints")
                        .toString());
    }
}
