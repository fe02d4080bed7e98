package dev.merv.data.batch;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.model.MaskLayout;
import dev.merv.core.model.MervBatch;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Transfers;
import java.util.ArrayList;
import java.util.List;

/**
 * Pads and stacks samples into a {@link MervBatch} (merv-reference.md §4.5): ids right-padded with
 * the pad id and labels with -100 to the longest row, both cut to {@code maxLength}; per encoder
 * the transformed clips of the multimodal rows only, stacked in row order (text-only rows get no
 * zero clip, W7); {@code multimodalIndices} lists those rows. The batch is built in host tensors
 * ({@link #collateHost}, pinned memory on a GPU machine) and then uploaded ({@link #upload}), so that a loader
 * can build the next micro-batch while the current one trains and the copy to the device does not block.
 * The batch says {@link MaskLayout#PREFIX} when every row's mask is its real tokens followed by padding.
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
    private final ScalarType pixelDtype;

    public Collator(long padId, int maxLength, List<EncoderInput> encoders, MaskMode maskMode) {
        this(padId, maxLength, encoders, maskMode, ScalarType.FLOAT32);
    }

    /**
     * @param pixelDtype the dtype pixels travel in: fp32, or bf16 when the encoders compute in bf16 (they cast
     *     their input to their own dtype first, and the host rounds exactly as that cast does, so the features
     *     are bit for bit the same while half the bytes cross to the device)
     */
    public Collator(long padId, int maxLength, List<EncoderInput> encoders, MaskMode maskMode, ScalarType pixelDtype) {
        if (pixelDtype != ScalarType.FLOAT32 && pixelDtype != ScalarType.BFLOAT16) {
            throw new IllegalArgumentException("pixels travel as fp32 or bf16, not " + pixelDtype);
        }
        this.padId = padId;
        this.maxLength = maxLength;
        this.encoders = List.copyOf(encoders);
        this.maskMode = maskMode;
        this.pixelDtype = pixelDtype;
    }

    /**
     * A micro-batch collated on the host: its tensors are CPU tensors (pinned memory on a GPU machine) owned by
     * the batch's own CPU manager, ready for {@link #upload}. Built on a loader thread while the previous
     * micro-batch trains; closing it frees whatever was not uploaded.
     */
    public record HostBatch(NDArray inputIds, NDArray attentionMask, NDArray labels, List<NDArray> pixels,
            int[] multimodalIndices, boolean[] isImage, long supervisedTokens, MaskLayout maskLayout, NDManager host)
            implements AutoCloseable {

        @Override
        public void close() {
            host.close();
        }
    }

    /** Collates {@code samples} (at least one) into arrays owned by a new sub-manager of {@code parent}. */
    public MervBatch collate(List<Sample> samples, NDManager parent) {
        try (HostBatch h = collateHost(samples)) {
            return upload(h, parent);
        }
    }

    /**
     * Moves a host batch to {@code parent}'s device: a new sub-manager owns the result. On a GPU each tensor is
     * copied without blocking on the calling thread's current stream (the replica's); on the CPU the host
     * tensors themselves become the batch's.
     */
    public MervBatch upload(HostBatch h, NDManager parent) {
        NDManager m = parent.newSubManager();
        try {
            NDArray ids = Transfers.upload(h.inputIds(), m);
            NDArray mask = Transfers.upload(h.attentionMask(), m);
            NDArray labels = Transfers.upload(h.labels(), m);
            List<NDArray> pixels = new ArrayList<>();
            for (NDArray p : h.pixels()) {
                pixels.add(Transfers.upload(p, m));
            }
            return new MervBatch(ids, mask, labels, List.copyOf(pixels), h.multimodalIndices(), h.isImage(),
                    h.supervisedTokens(), m, h.maskLayout());
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** Collates {@code samples} (at least one) into host tensors (see {@link HostBatch}). */
    public HostBatch collateHost(List<Sample> samples) {
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
        boolean prefix = true;
        List<Integer> mm = new ArrayList<>();
        boolean[] isImage = new boolean[b];
        for (int r = 0; r < b; r++) {
            Sample s = samples.get(r);
            long[] sid = s.text().ids();
            long[] slab = s.text().labels();
            int len = Math.min(sid.length, t);
            prefix &= len > 0;
            for (int j = 0; j < t; j++) {
                int k = r * t + j;
                if (j < len) {
                    ids[k] = sid[j];
                    labels[k] = slab[j];
                    mask[k] = maskMode == MaskMode.LENGTHS || sid[j] != padId;
                    prefix &= mask[k];
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
        NDManager host = NDManager.newBaseManager(Device.cpu());
        try {
            Shape shape = new Shape(b, t);
            NDArray idArr = Transfers.host(ids, shape, host);
            NDArray maskArr = Transfers.host(mask, shape, host);
            NDArray labArr = Transfers.host(labels, shape, host);
            List<NDArray> pixels = new ArrayList<>();
            if (mmIdx.length > 0) {
                for (int e = 0; e < encoders.size(); e++) {
                    EncoderInput in = encoders.get(e);
                    int per = in.clipValues();
                    long[] cs = in.clipShape();
                    NDArray all = Transfers.emptyHost(host, pixelDtype, mmIdx.length, cs[0], cs[1], cs[2], cs[3]);
                    for (int k = 0; k < mmIdx.length; k++) {
                        float[] clip = samples.get(mmIdx[k]).pixels()[e];
                        if (clip.length != per) {
                            throw new IllegalStateException("row " + samples.get(mmIdx[k]).index() + ": encoder "
                                    + in.name() + " clip has " + clip.length + " values, expected " + per);
                        }
                        Transfers.write(all, (long) k * per, clip);
                    }
                    pixels.add(all);
                }
            }
            return new HostBatch(idArr, maskArr, labArr, List.copyOf(pixels), mmIdx, isImage, supervised,
                    prefix ? MaskLayout.PREFIX : MaskLayout.ANY, host);
        } catch (RuntimeException e) {
            host.close();
            throw e;
        }
    }
}
