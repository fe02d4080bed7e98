package dev.merv.data.batch;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.model.FrozenFeatures;
import dev.merv.core.model.MervBatch;
import dev.merv.data.cache.CacheLookup;
import dev.merv.data.cache.FeatureCache;
import dev.merv.data.cache.FeatureKeys;
import dev.merv.data.cache.RowFeatures;
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
    private final CacheLookup cache;

    public Collator(long padId, int maxLength, List<EncoderInput> encoders, MaskMode maskMode) {
        this(padId, maxLength, encoders, maskMode, null);
    }

    /** @param cache the frozen-feature cache the samples were looked up in (null: none) */
    public Collator(long padId, int maxLength, List<EncoderInput> encoders, MaskMode maskMode, CacheLookup cache) {
        this.padId = padId;
        this.maxLength = maxLength;
        this.encoders = List.copyOf(encoders);
        this.maskMode = maskMode;
        this.cache = cache;
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
            FrozenFeatures frozen = null;
            if (mmIdx.length > 0 && cache != null && cache.keys().any()) {
                frozen = frozenFeatures(samples, mmIdx, m, pixels);
            } else if (mmIdx.length > 0) {
                for (int e = 0; e < encoders.size(); e++) {
                    List<float[]> clips = new ArrayList<>();
                    for (int k : mmIdx) {
                        clips.add(samples.get(k).pixels()[e]);
                    }
                    pixels.add(stackPixels(e, clips, samples, mmIdx, m));
                }
            }
            return new MervBatch(idArr, maskArr, labArr, List.copyOf(pixels), mmIdx, isImage, supervised, m, frozen);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** {@code clips} (one encoder's, each {@code clipValues} long) stacked into {@code [n, ...clip shape]}. */
    private NDArray stackPixels(int e, List<float[]> clips, List<Sample> samples, int[] mmIdx, NDManager m) {
        EncoderInput in = encoders.get(e);
        int per = in.clipValues();
        float[] all = new float[clips.size() * per];
        for (int k = 0; k < clips.size(); k++) {
            float[] clip = clips.get(k);
            if (clip == null || clip.length != per) {
                throw new IllegalStateException("row " + samples.get(mmIdx[Math.min(k, mmIdx.length - 1)]).index()
                        + ": encoder " + in.name() + " clip has " + (clip == null ? "no" : clip.length) + " values, expected "
                        + per);
            }
            System.arraycopy(clip, 0, all, k * per, per);
        }
        long[] cs = in.clipShape();
        return m.create(all, new Shape(clips.size(), cs[0], cs[1], cs[2], cs[3]));
    }

    /**
     * Per encoder: cached rows become the batch's cached values; the others' clips (then the extra random
     * variants to store) become its pixels, and their keys go to the sink that stores what the model computes.
     */
    private FrozenFeatures frozenFeatures(List<Sample> samples, int[] mmIdx, NDManager m, List<NDArray> pixels) {
        FeatureKeys keys = cache.keys();
        List<FrozenFeatures.Encoder> out = new ArrayList<>();
        String[][] storeKeys = new String[encoders.size()][];
        for (int e = 0; e < encoders.size(); e++) {
            FeatureKeys.EncoderKey ek = keys.encoder(e);
            List<float[]> clips = new ArrayList<>();
            if (ek == null) {
                for (int k : mmIdx) {
                    clips.add(samples.get(k).pixels()[e]);
                }
                pixels.add(stackPixels(e, clips, samples, mmIdx, m));
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
            pixels.add(clips.isEmpty() ? m.zeros(new Shape(0, encoders.get(e).clipShape()[0],
                    encoders.get(e).clipShape()[1], encoders.get(e).clipShape()[2], encoders.get(e).clipShape()[3]))
                    : stackPixels(e, clips, samples, mmIdx, m));
            NDArray cached = values.isEmpty() ? null : CacheLookup.stack(values, ek.rowShape(), m);
            NDArray cachedKeys = classKeys.isEmpty() || values.isEmpty() ? null
                    : CacheLookup.stack(classKeys, new long[] {ek.rowShape()[ek.rowShape().length - 1]}, m);
            out.add(new FrozenFeatures.Encoder(cachedIndex, cached, cachedKeys, extra));
        }
        return new FrozenFeatures(out, cache.sink(storeKeys));
    }
}
