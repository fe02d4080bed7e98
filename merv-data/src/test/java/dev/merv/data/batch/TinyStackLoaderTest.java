package dev.merv.data.batch;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.catalog.Catalog;
import dev.merv.core.model.FrameTransform;
import dev.merv.core.model.MervBatch;
import dev.merv.core.train.BatchPlan;
import dev.merv.core.train.MervMicroBatch;
import dev.merv.core.text.EncodedText;
import dev.merv.data.check.SkipLog;
import dev.merv.data.synth.SynthDataset;
import dev.merv.data.video.VideoDecoder;
import dev.merv.data.videollava.DatasetRegistry;
import dev.merv.data.videollava.Entry;
import dev.merv.core.config.Stage;
import dev.merv.data.videollava.VideoLlavaDataset;
import dev.merv.encoders.EncoderRegistry;
import dev.merv.encoders.FrozenVideoEncoder;
import dev.merv.llm.BundledTokenizers;
import dev.merv.llm.LlmRegistry;
import dev.merv.llm.llama.Llama;
import dev.merv.llm.prompt.ReferenceTextPipeline;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The whole loader on a generated dataset with the real components of the tiny stack: the
 * {@code llama2-tiny-pure} text pipeline over the bundled Llama-2 tokenizer and the transforms of the four
 * {@code merv-tiny} encoders from merv-encoders' registry (frames 2, 2, 4, 2). Every batch is checked
 * against the dataset rows it came from: ids and labels as the pipeline encodes them, human turns masked,
 * {@code labels[0] = -100} on media rows, padding, per-encoder pixels for the multimodal rows only in each
 * transform's layout. Two runs with the same seed give identical batches.
 */
class TinyStackLoaderTest {

    private static final int VIDEOS = 6;
    private static final long SEED = 7;
    private static final int MAX_LENGTH = 2048;
    private static final String[] TINY = {Catalog.TINY_LANGUAGEBIND, Catalog.TINY_DINOV2,
        Catalog.TINY_HIERA, Catalog.TINY_SIGLIP};
    private static final int[] FRAMES = {2, 2, 4, 2};

    @TempDir
    static Path dir;

    private static SynthDataset.Manifest manifest;
    private static ReferenceTextPipeline text;
    private static List<EncoderInput> encoders;

    @BeforeAll
    static void setUp() throws Exception {
        manifest = SynthDataset.generate(SynthDataset.Config.of(dir.resolve("videollava"), VIDEOS, 11));
        Path tok = BundledTokenizers.copyTo(BundledTokenizers.LLAMA2, dir.resolve("tokenizer"));
        text = LlmRegistry.text(Catalog.TINY_LLAMA2, tok, LlmRegistry.Options.PARITY);
        encoders = new ArrayList<>();
        for (int e = 0; e < TINY.length; e++) {
            FrozenVideoEncoder enc = EncoderRegistry.create(TINY[e], EncoderRegistry.Options.defaults().withFrames(FRAMES[e]));
            assertThat(enc.numFrames()).as(TINY[e] + " frames").isEqualTo(FRAMES[e]);
            encoders.add(EncoderInput.of(enc));
        }
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (text != null && text.tokenizer() instanceof AutoCloseable c) {
            c.close();
        }
    }

    /** One batch copied out of its NDArrays. */
    record Copied(int[] rows, long[] shape, long[] ids, long[] labels, boolean[] mask, List<long[]> pixelShapes,
            List<float[]> pixels, int[] mm, boolean[] isImage, long supervised) {}

    private static List<Copied> epoch(VideoLlavaDataset ds, SkipLog log) {
        BatchPlan plan = BatchPlan.of(4, 2, 1);
        List<Copied> out = new ArrayList<>();
        try (NDManager nd = NDManager.newBaseManager(); MervBatchSource source = new MervBatchSource(ds, text, encoders,
                MervBatchSource.Options.defaults(SEED, MAX_LENGTH, 64), log)) {
            for (long step = 0; step < source.stepsPerEpoch(0, plan); step++) {
                for (int micro = 0; micro < plan.accumulation(); micro++) {
                    try (MervMicroBatch mb = source.load(0, step, 0, micro, plan, nd)) {
                        MervBatch b = mb.batch();
                        List<long[]> ps = new ArrayList<>();
                        List<float[]> px = new ArrayList<>();
                        for (NDArray p : b.pixels()) {
                            ps.add(p.getShape().getShape());
                            px.add(p.toFloatArray());
                        }
                        out.add(new Copied(mb.rows(), b.inputIds().getShape().getShape(), b.inputIds().toLongArray(),
                                b.labels().toLongArray(), b.attentionMask().toBooleanArray(), ps, px,
                                b.multimodalIndices().clone(), b.isImage().clone(), b.supervisedTokens()));
                    }
                }
            }
        }
        return out;
    }

    @ParameterizedTest(name = "[synth {0}]")
    @EnumSource(value = Stage.class, names = {"ALIGN", "FINETUNE"})
    void batchesOfTheRealTinyStack(Stage stage) throws Exception {
        // the layouts each transform declares (LanguageBind's video path is [3, T, S, S])
        for (EncoderInput in : encoders) {
            FrameTransform.Layout want = in.name().equals(Catalog.TINY_LANGUAGEBIND) ? FrameTransform.Layout.CTHW
                    : FrameTransform.Layout.TCHW;
            assertThat(in.transform().layout()).as(in.name() + " layout").isEqualTo(want);
        }
        try (VideoLlavaDataset ds = VideoLlavaDataset.open(DatasetRegistry.inVideoLlavaDir(manifest.root(), stage))) {
            SkipLog log = new SkipLog();
            List<Copied> first = epoch(ds, log);
            assertThat(log.skips()).as("skips on a clean dataset").isEmpty();
            assertThat(first).isNotEmpty();

            Set<Integer> seen = new HashSet<>();
            int textBatches = 0;
            int mmBatches = 0;
            for (Copied b : first) {
                checkBatch(ds, stage, b);
                Arrays.stream(b.rows()).forEach(seen::add);
                if (b.mm().length == 0) {
                    textBatches++;
                } else {
                    mmBatches++;
                }
            }
            Set<Integer> all = new HashSet<>();
            for (int i = 0; i < ds.size(); i++) {
                all.add(i);
            }
            assertThat(seen).as("rows visited in one epoch").isEqualTo(all);
            assertThat(mmBatches).as("batches with media").isPositive();
            long textRows = all.stream().filter(i -> ds.kind(i) == Entry.Kind.TEXT).count();
            if (stage == Stage.FINETUNE) {
                assertThat(textRows).as("text-only rows in the synth finetune JSON").isPositive();
                assertThat(textBatches).as("text-only batches (split-modality sampler)").isPositive();
            }

            List<Copied> second = epoch(ds, new SkipLog());
            assertThat(second).as("second run, same seed").hasSameSizeAs(first);
            for (int k = 0; k < first.size(); k++) {
                Copied a = first.get(k);
                Copied b = second.get(k);
                String what = stage + " batch " + k;
                assertThat(b.rows()).as(what + " rows").containsExactly(a.rows());
                assertThat(b.ids()).as(what + " ids").containsExactly(a.ids());
                assertThat(b.labels()).as(what + " labels").containsExactly(a.labels());
                assertThat(b.mask()).as(what + " mask").containsExactly(a.mask());
                assertThat(b.pixels()).as(what + " pixel tensors").hasSameSizeAs(a.pixels());
                for (int e = 0; e < a.pixels().size(); e++) {
                    assertThat(b.pixels().get(e)).as(what + " pixels of " + encoders.get(e).name()).containsExactly(a.pixels().get(e));
                }
            }
        }
    }

    private static void checkBatch(VideoLlavaDataset ds, Stage stage, Copied b) throws Exception {
        int n = b.rows().length;
        assertThat(n).isBetween(1, 2);
        assertThat(b.shape()[0]).isEqualTo(n);
        int t = (int) b.shape()[1];
        long pad = text.tokenizer().padId();
        List<Integer> mm = new ArrayList<>();
        long supervised = 0;
        int longest = 0;
        for (int r = 0; r < n; r++) {
            int row = b.rows()[r];
            String what = stage + " row " + row;
            Entry e = ds.entry(row);
            EncodedText want = stage == Stage.ALIGN ? text.encodeCaption(e.turns(), MAX_LENGTH)
                    : text.encodeConversation(e.turns(), e.hasMedia(), MAX_LENGTH);
            int len = want.length();
            longest = Math.max(longest, len);
            long[] ids = Arrays.copyOfRange(b.ids(), r * t, r * t + t);
            long[] labels = Arrays.copyOfRange(b.labels(), r * t, r * t + t);
            assertThat(Arrays.copyOf(ids, len)).as(what + " ids").containsExactly(want.ids());
            assertThat(Arrays.copyOf(labels, len)).as(what + " labels").containsExactly(want.labels());
            for (int j = 0; j < t; j++) {
                assertThat(b.mask()[r * t + j]).as(what + " mask at " + j).isEqualTo(j < len);
                if (j >= len) {
                    assertThat(ids[j]).as(what + " pad id at " + j).isEqualTo(pad);
                    assertThat(labels[j]).as(what + " pad label at " + j).isEqualTo(MervBatch.IGNORE_INDEX);
                } else if (labels[j] != MervBatch.IGNORE_INDEX) {
                    assertThat(labels[j]).as(what + " supervised label at " + j).isEqualTo(ids[j]);
                    if (j > 0) {
                        supervised++;
                    }
                }
            }
            if (e.hasMedia()) {
                mm.add(r);
                assertThat(labels[0]).as(what + " labels[0] of a media row").isEqualTo(MervBatch.IGNORE_INDEX);
            }
            if (stage == Stage.FINETUNE) {
                // human turns masked, gpt turns supervised, turn by turn
                List<long[]> turns = text.encodeTurns(e.turns());
                int at = 0;
                for (int k = 0; k < turns.size(); k++) {
                    for (int j = 0; j < turns.get(k).length; j++, at++) {
                        boolean media0 = at == 0 && e.hasMedia();
                        long expect = k % 2 == 0 || media0 ? MervBatch.IGNORE_INDEX : turns.get(k)[j];
                        assertThat(labels[at]).as(what + " turn " + k + " token " + j).isEqualTo(expect);
                    }
                }
                assertThat(at).as(what + " tokens over turns").isEqualTo(len);
            } else {
                assertThat(labels[0]).isEqualTo(MervBatch.IGNORE_INDEX);
                assertThat(Arrays.copyOfRange(labels, 1, len)).as(what + " caption supervised").containsExactly(
                        Arrays.copyOfRange(ids, 1, len));
            }
            assertThat(b.isImage()[r]).as(what + " isImage").isEqualTo(e.isImage());
        }
        assertThat(t).as(stage + " padded length").isEqualTo(longest);
        assertThat(b.supervised()).as(stage + " supervised tokens").isEqualTo(supervised);
        assertThat(b.mm()).as(stage + " multimodal rows").containsExactly(mm.stream().mapToInt(Integer::intValue).toArray());

        if (mm.isEmpty()) {
            assertThat(b.pixels()).as(stage + " text-only batch carries no pixels").isEmpty();
            return;
        }
        assertThat(b.pixels()).as(stage + " one pixel tensor per encoder").hasSize(encoders.size());
        for (int e = 0; e < encoders.size(); e++) {
            EncoderInput in = encoders.get(e);
            int h = in.transform().height();
            int w = in.transform().width();
            long[] clip = in.transform().layout() == FrameTransform.Layout.CTHW ? new long[] {3, FRAMES[e], h, w}
                    : new long[] {FRAMES[e], 3, h, w};
            long[] want = {mm.size(), clip[0], clip[1], clip[2], clip[3]};
            assertThat(b.pixelShapes().get(e)).as(stage + " " + in.name() + " pixels shape").containsExactly(want);
            float[] px = b.pixels().get(e);
            double min = Double.MAX_VALUE;
            double max = -Double.MAX_VALUE;
            for (float v : px) {
                assertThat(Float.isFinite(v)).as(in.name() + " finite pixels").isTrue();
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            assertThat(max - min).as(stage + " " + in.name() + " pixels are an image, not a constant").isGreaterThan(0.5);
            // an image row is a still clip: its frames are equal; a synth video's shape moves, so its frames differ
            int plane = 3 * h * w;
            for (int k = 0; k < mm.size(); k++) {
                if (in.transform().layout() != FrameTransform.Layout.TCHW) {
                    continue;
                }
                int base = k * FRAMES[e] * plane;
                float[] f0 = Arrays.copyOfRange(px, base, base + plane);
                float[] f1 = Arrays.copyOfRange(px, base + plane, base + 2 * plane);
                boolean still = b.isImage()[mm.get(k)];
                assertThat(Arrays.equals(f0, f1)).as(stage + " " + in.name() + " row " + b.rows()[mm.get(k)]
                        + (still ? " image clip frames equal" : " video clip frames differ")).isEqualTo(still);
            }
        }
    }
}
