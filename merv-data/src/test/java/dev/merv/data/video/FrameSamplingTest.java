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

    @Test
    void clipWindowsInSecondsSampleInsideTheWindowLikeTheReferenceLoader() {
        // np.linspace(s*fps, min(n-1, e*fps - 1), k, dtype=int), values computed with numpy
        assertThat(FrameSampling.indices(300, 30.0, 8, ClipWindow.seconds(2.0, 5.0)))
                .containsExactly(60, 72, 85, 98, 110, 123, 136, 149);
        assertThat(FrameSampling.indices(300, 30000.0 / 1001, 16, ClipWindow.seconds(1.5, 4.25)))
                .containsExactly(44, 50, 55, 61, 66, 72, 77, 82, 88, 93, 99, 104, 110, 115, 120, 126);
        // no end: the video's end (n / fps seconds)
        assertThat(FrameSampling.indices(100, 25.0, 8, new ClipWindow(3.0, null, null)))
                .containsExactly(75, 78, 81, 85, 88, 92, 95, 99);
        // a window reaching past the end is clipped to the last frame
        assertThat(FrameSampling.indices(300, 30.0, 4, ClipWindow.seconds(9.99, 10.0))).containsExactly(299, 299, 299, 299);
        // the same rule at VLEP's 3 fps frame folders
        assertThat(FrameSampling.indices(40, 3.0, 8, ClipWindow.seconds(2.0, 9.0))).containsExactly(6, 8, 11, 14, 17, 20, 23,
                26);
    }

    @Test
    void endFrameSamplesFromTheStartUpToIt() {
        assertThat(FrameSampling.indices(300, 30.0, 8, ClipWindow.upToFrame(120))).containsExactly(0, 17, 34, 51, 68, 85, 102,
                120);
        // past the last frame: the last frame
        assertThat(FrameSampling.indices(50, 30.0, 8, ClipWindow.upToFrame(595))).containsExactly(0, 7, 14, 21, 28, 35, 42, 49);
        // end_frame wins over seconds, as in the reference's loader
        assertThat(FrameSampling.indices(300, 30.0, 8, new ClipWindow(2.0, 5.0, 120)))
                .containsExactly(FrameSampling.indices(300, 30.0, 8, ClipWindow.upToFrame(120)));
    }

    @Test
    void absentOrNanBoundsAreTheWholeVideo() {
        assertThat(new ClipWindow(Double.NaN, Double.NaN, -1).whole()).isTrue();
        assertThat(FrameSampling.indices(61, 30000.0 / 1001, 32, new ClipWindow(null, Double.NaN, null)))
                .containsExactly(FrameSampling.videoIndices(61, 30000.0 / 1001, 32));
        // an explicit [0, n/fps] window is the whole video too
        assertThat(FrameSampling.indices(300, 30.0, 16, ClipWindow.seconds(0, 10.0)))
                .containsExactly(FrameSampling.videoIndices(300, 30.0, 16));
    }

    @Test
    void windowsOutsideTheVideoFailNamingTheWindow() {
        // start past the end: linspace(250, 99, 4) would ask for frame 250 of 100
        assertThatThrownBy(() -> FrameSampling.indices(100, 25.0, 4, ClipWindow.seconds(10.0, 12.0)))
                .hasMessageContaining("time [10.0, 12.0] s").hasMessageContaining("frame 250 of a 100-frame video");
        assertThatThrownBy(() -> FrameSampling.indices(100, 0, 4, ClipWindow.seconds(1.0, 2.0)))
                .hasMessageContaining("frame rate is unknown");
        assertThatThrownBy(() -> ClipWindow.seconds(-1.0, 2.0)).hasMessageContaining("non-negative");
    }
}
