package dev.merv.core.projector;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

/** The init stream against libtorch's own CPU generator (what {@code torch.manual_seed} + {@code uniform_} give). */
class ReferenceInitTest {

    @Test
    void uniformDrawsFollowLibtorchsGenerator() {
        float bound = (float) (1 / Math.sqrt(1024));
        float[] torch;
        // libtorch's generator is process-global: seed and draw in one go
        synchronized (Engine.class) {
            Engine.getInstance().setRandomSeed(1024);
            try (NDManager m = NDManager.newBaseManager()) {
                torch = m.randomUniform(-bound, bound, new Shape(4096)).toFloatArray();
            }
        }
        ReferenceInit init = ReferenceInit.seeded(1024);
        float[] ours = new float[torch.length];
        for (int i = 0; i < ours.length; i++) {
            ours[i] = init.uniform(-bound, bound);
        }
        assertThat(ours).containsExactly(torch);
    }

    @Test
    void sameSeedSameStreamOtherSeedOtherStream() {
        ReferenceInit a = ReferenceInit.seeded(768);
        ReferenceInit b = ReferenceInit.seeded(768);
        ReferenceInit c = ReferenceInit.seeded(1024);
        boolean differs = false;
        for (int i = 0; i < 100; i++) {
            float x = a.uniform(0, 1);
            assertThat(b.uniform(0, 1)).isEqualTo(x);
            differs |= c.uniform(0, 1) != x;
            assertThat(x).isBetween(0f, 1f);
        }
        assertThat(differs).isTrue();
        assertThat(a.normal()).isEqualTo(b.normal());
    }
}
