package dev.merv.data.video;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The reference's sampling rule against values computed with numpy. */
class FrameSamplingTest {

    @Test
    void shortVideosRepeatFramesLikeNumpyLinspace() {
        // np.linspace(0, 9, 32, dtype=int)
        assertThat(FrameSampling.videoIndices(10, 16.0, 32)).containsExactly(0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4,
                4, 4, 4, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 8, 8, 8, 9);
    }

    @Test
    void stopBelowLastFrameTruncatesLikeTheReference() {
        // n=61 at 30000/1001 fps: (61/fps)*fps - 1 = 59.99999999999999, so the last index is 59, not 60
        int[] idx = FrameSampling.videoIndices(61, 30000.0 / 1001, 32);
        assertThat(idx).containsExactly(0, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 30, 32, 34, 36, 38, 40,
                42, 44, 46, 48, 50, 52, 54, 56, 58, 59);
    }

    @Test
    void unknownRateUsesLastFrame() {
        assertThat(FrameSampling.videoIndices(5, 0, 3)).containsExactly(0, 2, 4);
        assertThat(FrameSampling.videoIndices(1, 25, 4)).containsExactly(0, 0, 0, 0);
    }

    @Test
    void encodersTakeEveryKthDecodedFrame() {
        assertThat(FrameSampling.encoderPositions(32, 16)).containsExactly(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                28, 30);
        assertThat(FrameSampling.encoderPositions(32, 32)).hasSize(32).startsWith(0, 1, 2);
        assertThat(FrameSampling.encoderPositions(48, 16)).containsExactly(0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36,
                39, 42, 45);
    }

    @Test
    void frameCountsThatDoNotDivideFailBeforeAnythingRuns() {
        // the reference would feed a 32-frame encoder 48 frames here (stride 48/32 = 1)
        assertThatThrownBy(() -> FrameSampling.encoderPositions(48, 32)).hasMessageContaining("num_frames 32")
                .hasMessageContaining("48 frames");
        assertThatThrownBy(() -> FrameSampling.encoderPositions(16, 32)).isInstanceOf(IllegalArgumentException.class);
    }
}
