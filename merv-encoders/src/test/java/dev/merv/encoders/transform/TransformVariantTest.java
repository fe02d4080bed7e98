package dev.merv.encoders.transform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merv.core.model.Frame;
import dev.merv.core.model.FrameTransform;
import dev.merv.encoders.languagebind.LanguageBindTransform;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * What a feature cache relies on: a transform's named variant for a random stream is the choice apply makes
 * with a stream in the same state (LanguageBind's flip, each policy), and the identity separates transforms
 * whose outputs differ.
 */
class TransformVariantTest {

    static List<Frame> clip(int frames, long seed) {
        Random r = new Random(seed);
        List<Frame> out = new ArrayList<>();
        for (int i = 0; i < frames; i++) {
            byte[] rgb = new byte[40 * 30 * 3];
            r.nextBytes(rgb);
            out.add(new Frame(40, 30, rgb));
        }
        return out;
    }

    static final float[] MEAN = {0.48f, 0.45f, 0.40f};
    static final float[] STD = {0.27f, 0.26f, 0.28f};

    @Test
    void languageBindsVariantIsTheFlipApplyDraws() {
        List<Frame> clip = clip(2, 1);
        int flipped = 0;
        for (LanguageBindTransform.Flip policy : LanguageBindTransform.Flip.values()) {
            LanguageBindTransform t = new LanguageBindTransform(16, policy, MEAN, STD);
            for (long i = 0; i < 12; i++) {
                // scrambled seeds, as the loader's: java.util.Random's first draw barely moves across small seeds
                long seed = i * 0x9E3779B97F4A7C15L;
                String v = t.variant(new Random(seed)).orElseThrow();
                assertThat(t.variants()).contains(v);
                assertThat(t.applyVariant(clip, v)).isEqualTo(t.apply(clip, new Random(seed)));
                flipped += v.equals(LanguageBindTransform.FLIPPED) ? 1 : 0;
            }
        }
        assertThat(flipped).isPositive();
        // evaluation: no flip by default; the parity flip draws fresh randomness and cannot be named
        assertThat(new LanguageBindTransform(16, LanguageBindTransform.Flip.TRAINING, MEAN, STD).variant(null)).contains("");
        assertThat(new LanguageBindTransform(16, LanguageBindTransform.Flip.PARITY, MEAN, STD).variant(null)).isEmpty();
        assertThat(new LanguageBindTransform(16, LanguageBindTransform.Flip.NEVER, MEAN, STD).variants()).containsExactly("");
        LanguageBindTransform never = new LanguageBindTransform(16, LanguageBindTransform.Flip.NEVER, MEAN, STD);
        assertThatThrownBy(() -> never.applyVariant(clip, "flip")).hasMessageContaining("flip");
    }

    @Test
    void resizeNaiveHasNoRandomChoiceAndItsIdentityNamesWhatDecidesTheOutput() {
        ResizeNaiveTransform t = new ResizeNaiveTransform(16, 16, Filter.BICUBIC, MEAN, STD);
        List<Frame> clip = clip(2, 2);
        assertThat(t.variant(new Random(3))).contains("");
        assertThat(t.applyVariant(clip, "")).isEqualTo(t.apply(clip, null));
        FrameTransform other = new ResizeNaiveTransform(16, 16, Filter.BILINEAR, MEAN, STD);
        FrameTransform otherStd = new ResizeNaiveTransform(16, 16, Filter.BICUBIC, MEAN, MEAN);
        assertThat(t.identity()).isNotEqualTo(other.identity()).isNotEqualTo(otherStd.identity())
                .isNotEqualTo(new ResizeNaiveTransform(18, 18, Filter.BICUBIC, MEAN, STD).identity());
        // a non-square size is named with its orientation
        assertThat(new ResizeNaiveTransform(16, 24, Filter.BICUBIC, MEAN, STD).identity())
                .isNotEqualTo(new ResizeNaiveTransform(24, 16, Filter.BICUBIC, MEAN, STD).identity());
        // LanguageBind's identity does not depend on its flip policy: the variant says whether a clip was flipped
        assertThat(new LanguageBindTransform(16, LanguageBindTransform.Flip.TRAINING, MEAN, STD).identity())
                .isEqualTo(new LanguageBindTransform(16, LanguageBindTransform.Flip.NEVER, MEAN, STD).identity());
    }
}
