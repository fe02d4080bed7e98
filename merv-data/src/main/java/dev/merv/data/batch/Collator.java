package dev.merv.data.batch;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.model.MervBatch;
import java.util.ArrayList;
import java.util.List;

/**
 * Pads and stacks samples into a {@link MervBatch} (merv-reference.md §4.5): ids right-padded with
 * the pad id and labels with -100 to the longest row, both cut to {@code maxLength}; per encoder
 * the transformed clips of the multimodal rows only, stacked in row order (text-only rows get no
 * zero clip, W7); {@code multimodalIndices} lists those rows.
 *
 * <p>The attention mask is built from the row lengths by default (W5 fix: a genuine occurrence of
 * the pad id in the text stays visible, which matters for Qwen whose reference pad id 128004 is a
 * real token). {@link MaskMode#PAD_ID} reproduces the reference's {@code input_ids != pad_id}.
 */
public final class Collator {

    /** How the attention mask is derived. */
    public enum MaskMode {
        /** {@code true} for the first {@code length} positions of each row (W5 fix). */
        LENGTHS,
        /** The reference's {@code input_ids != pad_token_id} (parity). */
        PAD_ID
    }

    private final long padId;
    private final int maxLength;
    private final List<EncoderInput> encoders;
    private final MaskMode maskMode;

    public Collator(long padId, int maxLength, List<EncoderInput> encoders, MaskMode maskMode) {
        this.padId = padId;
        this.maxLength = maxLength;
        this.encoders = List.copyOf(encoders);
        this.maskMode = maskMode;
    }

    /** Collates {@code samples} (at least one) into arrays owned by a new sub-manager of {@code parent}. */
    public MervBatch collate(List<Sample> samples, NDManager parent) {
        if (samples.isEmpty()) {
            throw new IllegalArgumentException("cannot collate an empty batch");
        }
        int b = samples.size();
        int t = 0;
        for (Sample s : samples) {
            t = Math.max(t, Math.min(s.text().length(), maxLength));
        }
        long[] ids = new long[b * t];
        long[] labels = new long[b * t];
        boolean[] mask = new boolean[b * t];
        long supervised = 0;
        List<Integer> mm = new ArrayList<>();
        boolean[] isImage = new boolean[b];
        for (int r = 0; r < b; r++) {
            Sample s = samples.get(r);
            long[] sid = s.text().ids();
            long[] slab = s.text().labels();
            int len = Math.min(sid.length, t);
            for (int j = 0; j < t; j++) {
                int k = r * t + j;
                if (j < len) {
                    ids[k] = sid[j];
                    labels[k] = slab[j];
                    mask[k] = maskMode == MaskMode.LENGTHS || sid[j] != padId;
                    if (j > 0 && slab[j] != MervBatch.IGNORE_INDEX) {
                        supervised++;
                    }
                } else {
                    ids[k] = padId;
                    labels[k] = MervBatch.IGNORE_INDEX;
                    mask[k] = false;
                }
            }
            if (s.hasMedia()) {
                mm.add(r);
            }
            isImage[r] = s.isImage();
        }
        int[] mmIdx = mm.stream().mapToInt(Integer::intValue).toArray();
        NDManager m = parent.newSubManager();
        try {
            Shape shape = new Shape(b, t);
            NDArray idArr = m.create(ids, shape);
            NDArray maskArr = m.create(mask, shape);
            NDArray labArr = m.create(labels, shape);
            List<NDArray> pixels = new ArrayList<>();
            if (mmIdx.length > 0) {
                for (int e = 0; e < encoders.size(); e++) {
                    EncoderInput in = encoders.get(e);
                    int per = in.clipValues();
                    float[] all = new float[mmIdx.length * per];
                    for (int k = 0; k < mmIdx.length; k++) {
                        float[] clip = samples.get(mmIdx[k]).pixels()[e];
                        if (clip.length != per) {
                            throw new IllegalStateException("row " + samples.get(mmIdx[k]).index() + ": encoder "
                                    + in.name() + " clip has " + clip.length + " values, expected " + per);
                        }
                        System.arraycopy(clip, 0, all, k * per, per);
                    }
                    long[] cs = in.clipShape();
                    pixels.add(m.create(all, new Shape(mmIdx.length, cs[0], cs[1], cs[2], cs[3])));
                }
            }
            return new MervBatch(idArr, maskArr, labArr, List.copyOf(pixels), mmIdx, isImage, supervised, m);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }
}
