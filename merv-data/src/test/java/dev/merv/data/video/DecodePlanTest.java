package dev.merv.data.video;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** The plan's decisions on hand-made packet indexes: where to jump, what to drop, when not to. */
class DecodePlanTest {

    /** An index from display indices in decode order; key packets listed; pts = 10 x display. */
    private static PacketIndex index(int[] displayInDecodeOrder, int... keyPositions) {
        PacketIndex.Builder b = new PacketIndex.Builder();
        java.util.Set<Integer> keys = new java.util.HashSet<>();
        for (int k : keyPositions) {
            keys.add(k);
        }
        for (int i = 0; i < displayInDecodeOrder.length; i++) {
            b.add(displayInDecodeOrder[i] * 10L, i * 10L - 20, keys.contains(i), true, 0, true);
        }
        return b.build();
    }

    /** Three closed GOPs of 8 with B-frames: decode order g, g+3, g+1, g+2, g+6, g+4, g+5, g+7. */
    private static int[] closedGops() {
        int[] order = new int[24];
        int[] gop = {0, 3, 1, 2, 6, 4, 5, 7};
        for (int g = 0; g < 3; g++) {
            for (int i = 0; i < 8; i++) {
                order[g * 8 + i] = g * 8 + gop[i];
            }
        }
        return order;
    }

    @Test
    void jumpsToTheKeyFrameBeforeTheNextSampleOnlyWhenThatSkipsPackets() {
        PacketIndex idx = index(closedGops(), 0, 8, 16);
        assertThat(idx.display(1)).isEqualTo(3);
        assertThat(idx.position(3)).isEqualTo(1);
        DecodePlan plan = new DecodePlan(idx, new int[] {0, 17}, true, false);
        assertThat(plan.seekTarget(17, 3)).as("frame 17 from packet 3: jump to the key frame shown at 16").isEqualTo(16);
        assertThat(plan.seekTarget(16, 9)).isEqualTo(16);
        assertThat(plan.seekTarget(7, 3)).as("same GOP: read on").isEqualTo(-1);
        assertThat(plan.seekTarget(17, 16)).as("already there").isEqualTo(-1);
        assertThat(plan.seekTarget(17, 18)).as("never backwards").isEqualTo(-1);
        DecodePlan off = new DecodePlan(idx, new int[] {0, 17}, false, false);
        assertThat(off.seekTarget(17, 3)).isEqualTo(-1);
    }

    @Test
    void neverJumpsPastAPacketASampleStillNeeds() {
        // open GOP: key frame shown at 8 is decoded before its leading pictures 6 and 7
        int[] open = {0, 3, 1, 2, 5, 4, 8, 6, 7, 11, 9, 10};
        PacketIndex idx = index(open, 0, 6);
        DecodePlan plan = new DecodePlan(idx, new int[] {0, 7, 9}, true, false);
        assertThat(plan.seekTarget(7, 2)).as("a leading picture of key 8 is reached from key 0").isEqualTo(-1);
        assertThat(plan.seekTarget(9, 2)).as("a frame after key 8 is reached from it").isEqualTo(6);
        // a packet decoded before key 8 but shown after 9 keeps the jump from skipping it
        int[] late = {0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11};
        PacketIndex lateIdx = index(late, 0, 9);
        DecodePlan latePlan = new DecodePlan(lateIdx, new int[] {0, 9, 10}, true, false);
        assertThat(latePlan.seekTarget(9, 2)).isEqualTo(-1);
        assertThat(latePlan.seekTarget(10, 2)).isEqualTo(9);
    }

    @Test
    void dropsOnlyUnsampledDroppablePackets() {
        PacketIndex.Builder b = new PacketIndex.Builder();
        // layers as HEVC temporal sub-layers: only the top layer (2) may be dropped
        int[] layer = {0, 2, 1, 2, 0, 2};
        for (int i = 0; i < layer.length; i++) {
            b.add(i * 10L, i * 10L, i == 0, true, layer[i], true);
        }
        PacketIndex idx = b.build();
        DecodePlan plan = new DecodePlan(idx, new int[] {3}, false, true);
        assertThat(new boolean[] {plan.drop(0), plan.drop(1), plan.drop(2), plan.drop(3), plan.drop(4), plan.drop(5)})
                .containsExactly(false, true, false, false, false, true);
        assertThat(new DecodePlan(idx, new int[] {3}, false, false).drop(1)).as("dropping off").isFalse();
        assertThatThrownBy(() -> new DecodePlan(idx, new int[] {6}, true, true)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void hiddenLeadInPacketsAreDecodedButAreNoFrames() {
        // a GOP I0 P3 B1 B2 P6 B4 B5 P9 B7 B8 cut at 5: the container keeps 0..4 to decode from, hidden
        long[] pts = {0, 3, 1, 2, 6, 4, 5, 9, 7, 8};
        PacketIndex.Builder b = new PacketIndex.Builder();
        for (int i = 0; i < pts.length; i++) {
            b.add(pts[i] * 10, i * 10L - 20, i == 0, true, 0, pts[i] >= 5);
        }
        assertThat(b.packets()).isEqualTo(10);
        assertThat(b.shown()).isEqualTo(5);
        PacketIndex idx = b.build();
        assertThat(idx.size()).isEqualTo(5);
        assertThat(idx.packets()).isEqualTo(10);
        assertThat(idx.displayOf(50)).as("the first shown frame is frame 0").isZero();
        assertThat(idx.displayOf(90)).isEqualTo(4);
        assertThat(idx.displayOf(40)).as("hidden").isEqualTo(-1);
        assertThat(idx.positionOf(40)).isEqualTo(5);
        assertThat(idx.position(1)).as("frame 1 (pts 60) is packet 4").isEqualTo(4);
        DecodePlan plan = new DecodePlan(idx, new int[] {0, 4}, true, true);
        assertThat(plan.drop(2)).as("a hidden picture may be dropped").isTrue();
        assertThat(plan.drop(6)).as("frame 0 is sampled").isFalse();
        assertThat(plan.seekTarget(0, 0)).isEqualTo(-1);
        assertThatThrownBy(() -> new DecodePlan(idx, new int[] {5}, true, true)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void timestampsMustIdentifyFrames() {
        PacketIndex.Builder dup = new PacketIndex.Builder();
        dup.add(0, 0, true, false, 0, true);
        dup.add(0, 1, false, false, 0, true);
        assertThat(dup.build()).as("two packets with one timestamp").isNull();
        PacketIndex.Builder missing = new PacketIndex.Builder();
        missing.add(0, 0, true, false, 0, true);
        missing.add(Long.MIN_VALUE, 1, false, false, 0, true);
        assertThat(missing.build()).as("a packet without timestamp").isNull();
        assertThat(new PacketIndex.Builder().build()).isNull();
        PacketIndex idx = index(closedGops(), 0);
        assertThat(idx.displayOf(170)).isEqualTo(17);
        assertThat(idx.displayOf(171)).isEqualTo(-1);
        assertThat(idx.seekTimestamp(1)).as("min(dts, pts)").isEqualTo(-10);
    }

    @Test
    void hevcTemporalIdComesFromTheVclNalHeaders() {
        // length-prefixed: VPS-like non-VCL unit (type 32), then a TRAIL_N slice (type 0) with TemporalId 2
        ByteBuffer lp = ByteBuffer.wrap(new byte[] {0, 0, 0, 3, 0x40, 0x01, 0x0c, 0, 0, 0, 4, 0x00, 0x03, 0x11, 0x22});
        assertThat(NonReferenceRule.hevcTemporalId(lp, 4)).isEqualTo(2);
        ByteBuffer nonVcl = ByteBuffer.wrap(new byte[] {0, 0, 0, 2, 0x4e, 0x01});
        assertThat(NonReferenceRule.hevcTemporalId(nonVcl, 4)).isEqualTo(-1);
        // Annex B: start code, AUD (type 35), start code, TRAIL_R (type 1) with TemporalId 0
        ByteBuffer annexB = ByteBuffer.wrap(new byte[] {0, 0, 0, 1, 0x46, 0x01, 0x50, 0, 0, 1, 0x02, 0x01, 0x77});
        assertThat(NonReferenceRule.hevcTemporalId(annexB, 0)).isEqualTo(0);
        byte[] hvcc = new byte[23];
        hvcc[0] = 1;
        hvcc[21] = 0x0f;
        assertThat(NonReferenceRule.hevcLengthSize(ByteBuffer.wrap(hvcc))).isEqualTo(4);
        assertThat(NonReferenceRule.hevcLengthSize(ByteBuffer.wrap(new byte[] {0, 0, 0, 1}))).isZero();
    }

    @Test
    void rotationAnglesAreQuarterTurnsOrNothing() {
        assertThat(DisplayRotation.normalise(90.0)).isEqualTo(90);
        assertThat(DisplayRotation.normalise(-90.0)).isEqualTo(270);
        assertThat(DisplayRotation.normalise(-180.00000000001)).isEqualTo(180);
        assertThat(DisplayRotation.normalise(450)).isEqualTo(90);
        assertThat(DisplayRotation.normalise(45)).isZero();
        assertThat(DisplayRotation.normalise(Double.NaN)).isZero();
    }
}
