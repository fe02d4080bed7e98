package dev.merv.core.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** PyTorch-style named trees: dotted names in declaration order, freezing, casting, shape-checked values. */
class ModuleTest {

    NDManager m;

    @BeforeEach
    void setUp() {
        m = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    static final class Block extends Module {
        final Linear proj;
        final RmsNorm norm;
        final Param scale;

        Block() {
            proj = child("proj", new Linear(3, 2, true));
            scale = param("scale", 2);
            norm = child("norm", new RmsNorm(2, 1e-6f));
        }
    }

    static final class Net extends Module {
        final Embedding embed;
        final ModuleList<Block> layers;

        Net() {
            embed = child("embed_tokens", new Embedding(5, 3));
            layers = child("layers", new ModuleList<>());
            layers.add(new Block());
            layers.add(new Block());
        }
    }

    @Test
    void namesAreDottedPathsInDeclarationOrder() {
        Net n = new Net();
        assertThat(n.namedParameters().keySet()).containsExactly("embed_tokens.weight", "layers.0.scale",
                "layers.0.proj.weight", "layers.0.proj.bias", "layers.0.norm.weight", "layers.1.scale", "layers.1.proj.weight",
                "layers.1.proj.bias", "layers.1.norm.weight");
        assertThat(n.layers.size()).isEqualTo(2);
        assertThat(n.layers.get(1).proj.outFeatures()).isEqualTo(2);
        assertThat(n.parameterCount()).isEqualTo(15 + 2 * (2 + 6 + 2 + 2));
        assertThatThrownBy(() -> new Module() {
            {
                param("w", 1);
                child("w", new Linear(1, 1, false));
            }
        }).hasMessageContaining("duplicate member 'w'");
    }

    @Test
    void freezingCastingAndValues() {
        Net n = new Net();
        RandomInit.initialize(n, 3, m);
        n.namedParameters().values().forEach(p -> assertThat(p.get().hasGradient()).as(p.name()).isTrue());
        n.setTrainable(false, path -> path.startsWith("layers.1."));
        assertThat(n.trainableParameterCount()).isEqualTo(15 + 12);
        assertThat(n.layers.get(1).proj.weight().get().hasGradient()).isFalse();
        n.castTo(ScalarType.BFLOAT16, m);
        n.namedParameters().forEach((k, p) -> assertThat(p.dtype()).as(k).isEqualTo(ScalarType.BFLOAT16));
        assertThat(n.layers.get(1).proj.weight().trainable()).as("casting keeps the frozen flag").isFalse();
        assertThat(n.layers.get(0).proj.weight().get().hasGradient()).as("and the trainable one").isTrue();
        Param p = n.layers.get(0).scale;
        assertThatThrownBy(() -> p.set(m.zeros(new Shape(3)))).hasMessageContaining("'scale'").hasMessageContaining("(2)");
        NDArray old = p.get();
        p.set(m.zeros(new Shape(2)));
        assertThat(old.isReleased()).as("set closes the previous value").isTrue();
        assertThatThrownBy(() -> new Param("missing", 4).get()).hasMessageContaining("'missing'").hasMessageContaining("no value");
        // only what has no value is initialised
        Net fresh = new Net();
        NDArray kept = m.ones(new Shape(5, 3));
        fresh.embed.weight().set(kept);
        RandomInit.initialize(fresh, 3, m);
        assertThat(fresh.embed.weight().get()).isSameAs(kept);
        assertThat(Torch.toFloatArray(fresh.layers.get(0).norm.weight().get())).containsOnly(1f);
        assertThat(Torch.toFloatArray(fresh.layers.get(0).proj.bias().get())).containsOnly(0f);
        Net again = new Net();
        RandomInit.initialize(again, 3, m);
        Net other = new Net();
        RandomInit.initialize(other, 3, m);
        assertThat(Torch.toFloatArray(again.layers.get(1).proj.weight().get()))
                .containsExactly(Torch.toFloatArray(other.layers.get(1).proj.weight().get()));
    }
}
