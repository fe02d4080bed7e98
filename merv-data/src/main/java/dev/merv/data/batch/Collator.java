package dev.merv.data.batch;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.model.FrozenFeatures;
import dev.merv.core.model.MaskLayout;
import dev.merv.core.model.MervBatch;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Transfers;
import dev.merv.data.cache.CacheLookup;
import dev.merv.data.cache.FeatureCache;
import dev.merv.data.cache.FeatureKeys;
import dev.merv.data.cache.RowFeatures;
import java.util.ArrayList;
import java.util.List;

/**
 * Pads and stacks samples into a {@link MervBatch} (docs/reference.md §4.5): ids right-padded with
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
 *
 * <p>With a frozen-feature cache, a cached encoder's pixels hold only the clips the cache missed (then the
 * other random variants to be stored) and the batch carries the cached values ({@link FrozenFeatures}).
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
    private final CacheLookup cache;

    public Collator(long padId, int maxLength, List<EncoderInput> encoders, MaskMode maskMode) {
        this(padId, maxLength, encoders, maskMode, ScalarType.FLOAT32);
    }

    public Collator(long padId, int maxLength, List<EncoderInput> encoders, MaskMode maskMode, ScalarType pixelDtype) {
        this(padId, maxLength, encoders, maskMode, pixelDtype, null);
    }

    /**
     * @param pixelDtype the dtype pixels travel in: fp32, or bf16 when the encoders compute in bf16 (they cast
     *     their input to their own dtype first, and the host rounds exactly as that cast does, so the features
     *     are bit for bit the same while half the bytes cross to the device)
     * @param cache the frozen-feature cache the samples were looked up in (null: none)
     */
    public Collator(long padId, int maxLength, List<EncoderInput> encoders, MaskMode maskMode, ScalarType pixelDtype,
            CacheLookup cache) {
        if (pixelDtype != ScalarType.FLOAT32 && pixelDtype != ScalarType.BFLOAT16) {
            throw new IllegalArgumentException("pixels travel as fp32 or bf16, not " + pixelDtype);
        }
        this.padId = padId;
        this.maxLength = maxLength;
        this.encoders = List.copyOf(encoders);
        this.maskMode = maskMode;
        this.pixelDtype = pixelDtype;
        this.cache = cache;
    }

    /**
     * A micro-batch collated on the host: its tensors are CPU tensors (pinned memory on a GPU machine) owned by
     * the batch's own CPU manager, ready for {@link #upload}. Built on a loader thread while the previous
     * micro-batch trains; closing it frees whatever was not uploaded.
     */
    public record HostBatch(NDArray inputIds, NDArray attentionMask, NDArray labels, List<NDArray> pixels,
            int[] multimodalIndices, boolean[] isImage, long supervisedTokens, MaskLayout maskLayout, NDManager host,
            HostFrozen frozen) implements AutoCloseable {

        /** A host batch without cached features. */
        public HostBatch(NDArray inputIds, NDArray attentionMask, NDArray labels, List<NDArray> pixels,
                int[] multimodalIndices, boolean[] isImage, long supervisedTokens, MaskLayout maskLayout, NDManager host) {
            this(inputIds, attentionMask, labels, pixels, multimodalIndices, isImage, supervisedTokens, maskLayout, host,
                    null);
        }

        @Override
        public void close() {
            host.close();
        }
    }

    /**
     * A host batch's cached features: per model encoder (null: not cached) its cached rows, where the values the
     * model computes go ({@code storeKeys[encoder][pixel row]}), and the batch's look-ups and hits.
     */
    public record HostFrozen(List<HostEncoder> encoders, String[][] storeKeys, long lookups, long hits) {}

    /**
     * One cached encoder's rows on the host.
     *
     * @param cachedIndex per multimodal row, its row in {@code stored}, or -1 when it is computed
     * @param stored the cached values {@code [hits, ...]} as stored (row-major in their memory order), null without hits
     * @param order the values' memory order over a row's axes (null: row-major)
     * @param classKeys the cached rows' mean tokens {@code [hits, C]}, or null
     * @param extraRows pixel rows after the missed ones that are computed only to be stored
     */
    public record HostEncoder(int[] cachedIndex, NDArray stored, int[] order, NDArray classKeys, int extraRows) {}

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
            FrozenFeatures frozen = null;
            if (h.frozen() != null) {
                List<FrozenFeatures.Encoder> es = new ArrayList<>();
                for (HostEncoder e : h.frozen().encoders()) {
                    if (e == null) {
                        es.add(null);
                        continue;
                    }
                    // uploaded as stored (row-major), then viewed in the layout the values were computed in
                    NDArray values = e.stored() == null ? null : CacheLookup.inLayout(Transfers.upload(e.stored(), m), e.order());
                    NDArray keys = e.classKeys() == null ? null : Transfers.upload(e.classKeys(), m);
                    es.add(new FrozenFeatures.Encoder(e.cachedIndex(), values, keys, e.extraRows()));
                }
                frozen = new FrozenFeatures(es, cache.sink(h.frozen().storeKeys()));
            }
            return new MervBatch(ids, mask, labels, List.copyOf(pixels), h.multimodalIndices(), h.isImage(),
                    h.supervisedTokens(), m, h.maskLayout(), frozen);
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
            HostFrozen frozen = null;
            if (mmIdx.length > 0 && cache != null && cache.keys().any()) {
                frozen = frozenFeatures(samples, mmIdx, host, pixels);
            } else if (mmIdx.length > 0) {
                for (int e = 0; e < encoders.size(); e++) {
                    List<float[]> clips = new ArrayList<>();
                    for (int k : mmIdx) {
                        clips.add(samples.get(k).pixels()[e]);
                    }
                    pixels.add(stackPixels(e, clips, samples, mmIdx, host));
                }
            }
            return new HostBatch(idArr, maskArr, labArr, List.copyOf(pixels), mmIdx, isImage, supervised,
                    prefix ? MaskLayout.PREFIX : MaskLayout.ANY, host, frozen);
        } catch (RuntimeException e) {
            host.close();
            throw e;
        }
    }

    /** One encoder's {@code clips} (each {@code clipValues} long) stacked into a host tensor {@code [n, ...clip shape]}. */
    private NDArray stackPixels(int e, List<float[]> clips, List<Sample> samples, int[] mmIdx, NDManager host) {
        EncoderInput in = encoders.get(e);
        int per = in.clipValues();
        long[] cs = in.clipShape();
        NDArray all = Transfers.emptyHost(host, pixelDtype, clips.size(), cs[0], cs[1], cs[2], cs[3]);
        for (int k = 0; k < clips.size(); k++) {
            float[] clip = clips.get(k);
            if (clip == null || clip.length != per) {
                throw new IllegalStateException("row " + samples.get(mmIdx[Math.min(k, mmIdx.length - 1)]).index()
                        + ": encoder " + in.name() + " clip has " + (clip == null ? "no" : clip.length) + " values, expected "
                        + per);
            }
            Transfers.write(all, (long) k * per, clip);
        }
        return all;
    }

    /**
     * Per encoder: cached rows become the batch's cached values; the others' clips (then the extra random
     * variants to store) become its pixels, and their keys go to the sink that stores what the model computes.
     */
    private HostFrozen frozenFeatures(List<Sample> samples, int[] mmIdx, NDManager host, List<NDArray> pixels) {
        FeatureKeys keys = cache.keys();
        List<HostEncoder> out = new ArrayList<>();
        String[][] storeKeys = new String[encoders.size()][];
        long lookups = 0;
        long hits = 0;
        for (int k : mmIdx) {
            RowFeatures rf = samples.get(k).cache();
            if (rf != null) {
                lookups += rf.lookups();
                hits += rf.hitCount();
            }
        }
        for (int e = 0; e < encoders.size(); e++) {
            FeatureKeys.EncoderKey ek = keys.encoder(e);
            List<float[]> clips = new ArrayList<>();
            if (ek == null) {
                for (int k : mmIdx) {
                    clips.add(samples.get(k).pixels()[e]);
                }
                pixels.add(stackPixels(e, clips, samples, mmIdx, host));
                out.add(null);
                continue;
            }
            int[] cachedIndex = new int[mmIdx.length];
            List<FeatureCache.Tensor> values = new ArrayList<>();
            List<FeatureCache.Tensor> classKeys = new ArrayList<>();
            List<String> store = new ArrayList<>();
            for (int j = 0; j < mmIdx.length; j++) {
                RowFeatures rf = samples.get(mmIdx[j]).cache();
                if (rf != null && rf.hit(e)) {
                    cachedIndex[j] = values.size();
                    values.add(rf.hits()[e].value());
                    if (rf.hits()[e].classKey() != null) {
                        classKeys.add(rf.hits()[e].classKey());
                    }
                } else {
                    cachedIndex[j] = -1;
                    clips.add(samples.get(mmIdx[j]).pixels()[e]);
                    store.add(rf == null ? null : rf.keys()[e]);
                }
            }
            int extra = 0;
            for (int k : mmIdx) {
                RowFeatures rf = samples.get(k).cache();
                float[][] px = rf == null || rf.hit(e) ? null : rf.extraPixels()[e];
                if (px != null) {
                    for (int v = 0; v < px.length; v++) {
                        clips.add(px[v]);
                        store.add(rf.extraKeys()[e][v]);
                        extra++;
                    }
                }
            }
            storeKeys[e] = store.toArray(String[]::new);
            pixels.add(stackPixels(e, clips, samples, mmIdx, host));
            NDArray stored = values.isEmpty() ? null : CacheLookup.stackStored(values, host);
            NDArray storedKeys = classKeys.isEmpty() || values.isEmpty() ? null : CacheLookup.stackStored(classKeys, host);
            out.add(new HostEncoder(cachedIndex, stored, values.isEmpty() ? null : values.get(0).order(), storedKeys, extra));
        }
        return new HostFrozen(out, storeKeys, lookups, hits);
    }
}
